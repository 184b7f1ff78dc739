#include "ptrace_sampler.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "maps.h"
#include "sonde/common/io.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/thread.h"

namespace sonde::profiler {
namespace {

using ptrace::StopKind;
using ptrace::StopResult;

// A running thread stops within microseconds of PTRACE_INTERRUPT; one that
// has not after this long is in uninterruptible sleep.
constexpr int kStopTimeoutMs = 20;
// How long detach_all waits for all the threads' stops together.
constexpr long kDetachWaitMs = 100;

}  // namespace

Status PtraceSampler::scan_threads(Collector& c) {
  auto tids = proc::list_tids(pid_);
  if (tids.empty() && threads_.empty())
    return Error{errc::kNotFound, fmt::format("no process {}", pid_),
                 "list processes with `sonde ps TARGET`"};
  for (pid_t t : tids) {
    if (threads_.count(t)) continue;
    auto att = ptrace::Attachment::seize(pid_, t);
    if (!att) {
      if (t == pid_ && threads_.empty()) return att.error();
      continue;  // a thread that exited meanwhile
    }
    threads_[t].att = std::move(*att);
    c.name_thread(t, proc::thread_name(pid_, t));
  }
  return ok_status();
}

// How much stack to copy from sp: up to the end of the mapping holding it
// (what lies beyond is another thread's or a library's memory, see
// stack_dump.cpp). The mapping is remembered per thread; the maps are read
// again only when sp leaves it (the first sample, a signal stack, growth).
size_t PtraceSampler::stack_extent(Thread& t, uint64_t sp) {
  if (sp < t.stack_lo || sp >= t.stack_hi) {
    t.stack_lo = t.stack_hi = 0;
    if (auto text = read_file(fmt::format("/proc/{}/maps", pid_))) {
      for (const Mapping& m : parse_maps(*text)) {
        if (sp >= m.start && sp < m.end) {
          t.stack_lo = m.start;
          t.stack_hi = m.end;
          break;
        }
      }
    }
  }
  if (t.stack_hi <= sp) return stack_bytes_;
  return static_cast<size_t>(std::min<uint64_t>(stack_bytes_, t.stack_hi - sp));
}

void PtraceSampler::handle_unrequested(pid_t tid, const StopResult& st) {
  Thread& t = threads_[tid];
  if (st.kind == StopKind::kGone) {
    t.att.forget();
    threads_.erase(tid);
    if (tid == pid_) leader_gone_ = true;
    return;
  }
  (void)t.att.resume(st);  // kGone: the next look finds it gone
}

void PtraceSampler::service() {
  for (auto it = threads_.begin(); it != threads_.end();) {
    pid_t tid = it->first;
    ++it;                                 // handle_unrequested may erase tid
    if (threads_[tid].pending) continue;  // its stop is ours: sample() takes it
    StopResult st = threads_[tid].att.wait_stop(0);
    if (st.kind == StopKind::kTimeout) continue;  // nothing happened
    handle_unrequested(tid, st);
  }
}

void PtraceSampler::sample(Collector& c) {
  for (auto it = threads_.begin(); it != threads_.end();) {
    pid_t tid = it->first;
    Thread& t = it->second;
    ++it;
    char state = proc::thread_state(pid_, tid);
    if (state == '?' || state == 'Z' || state == 'X') {
      StopResult st = t.att.wait_stop(0);
      if (st.kind == StopKind::kGone) handle_unrequested(tid, st);
      continue;
    }
    if (!wall_ && state != 'R' && !t.pending) continue;
    if (wall_ && state == 'D' && !t.pending) {
      // Cannot be stopped; its syscall, pc and sp are readable all the same.
      long nr;
      uint64_t sp, pc;
      if (proc::thread_syscall(pid_, tid, &nr, &sp, &pc) && sp) {
        Snapshot s;
        s.tid = tid;
        s.regs[kRegSp] = sp;
        s.regs[kRegIp] = pc;
        s.stack_addr = sp;
        s.stack_len = copy_stack(pid_, sp, stack_extent(t, sp), stack_);
        s.stack = stack_.data();
        c.add(s, nr);
      }
      continue;
    }
    StopResult st = t.pending ? t.att.wait_stop(0) : t.att.stop(kStopTimeoutMs);
    if (st.kind == StopKind::kTimeout) {
      t.pending = true;
      continue;
    }
    t.pending = false;
    if (st.kind == StopKind::kGone) {
      handle_unrequested(tid, st);
      continue;
    }
    user_regs_struct u{};
    if (!st.group_stop && t.att.regs(&u) == ptrace::Op::kDone) {
      Snapshot s;
      s.tid = tid;
      regs_from_user(u, s.regs);
      s.stack_addr = u.rsp;
      s.stack_len = copy_stack(pid_, u.rsp, stack_extent(t, u.rsp), stack_);
      s.stack = stack_.data();
      // Resume first: unwinding happens while the thread runs on.
      long sc = wall_ ? blocked_syscall(u) : -1;
      // Our own interrupt made a sleeping syscall restart through
      // restart_syscall: name the call the thread is really waiting in.
      if (sc == SYS_restart_syscall && t.last_syscall >= 0)
        sc = t.last_syscall;
      else if (sc >= 0)
        t.last_syscall = sc;
      (void)t.att.resume(st);
      c.add(s, sc);
    } else {
      (void)t.att.resume(st);
    }
  }
}

void PtraceSampler::detach_all() {
  // PTRACE_DETACH needs a stopped tracee: interrupt every thread at once,
  // then detach each as its stop arrives, for a bounded time in all (not per
  // thread: a thousand threads in D state must not cost a thousand waits).
  // One still not stopped is let go when the sampling thread ends right
  // after this (run_on_tracer_thread), its pending stop cancelled.
  std::vector<ptrace::Attachment*> waiting;
  for (auto& [tid, t] : threads_) {
    if (t.pending || t.att.interrupt() == ptrace::Op::kDone)
      waiting.push_back(&t.att);
    else
      t.att.forget();  // it exited
  }
  const long deadline = monotonic_ms() + kDetachWaitMs;
  while (!waiting.empty()) {
    for (auto it = waiting.begin(); it != waiting.end();) {
      StopResult st = (*it)->wait_stop(0);
      if (st.kind == StopKind::kTimeout) {
        ++it;
        continue;
      }
      if (st.kind == StopKind::kGone)
        (*it)->forget();
      else
        (void)(*it)->detach(st);
      it = waiting.erase(it);
    }
    if (waiting.empty() || monotonic_ms() >= deadline) break;
    ::usleep(200);
  }
  for (ptrace::Attachment* a : waiting) a->abandon();
  threads_.clear();
}

}  // namespace sonde::profiler
