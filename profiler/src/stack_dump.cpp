#include <signal.h>
#include <sys/user.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>

#include "maps.h"
#include "resolve.h"
#include "snapshot.h"
#include "sonde/common/io.h"
#include "sonde/proc/ptrace_access.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/thread.h"
#include "sonde/profiler/stack.h"
#include "sonde/ptrace/attachment.h"
#include "sonde/ptrace/syscalls.h"
#include "sonde/ptrace/tracer_thread.h"
#include "unwinder.h"

namespace sonde::profiler {
namespace {

using ptrace::StopKind;
using ptrace::StopResult;

struct Captured {
  pid_t tid = 0;
  ptrace::Attachment att;  // held from the seize until its registers are taken
  std::string name;
  char state = '?';
  long syscall = -1;
  bool have_regs = false;
  bool partial_regs = false;  // only sp and pc (uninterruptible sleep)
  uint64_t regs[kRegCount] = {};
  uint64_t stack_addr = 0;
  std::vector<uint8_t> stack;
  std::string error;
};

uint64_t us_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count());
}

// How much stack to copy from sp: up to the end of the mapping that holds
// it. glibc puts a thread's stack and its descriptor in one mapping; what
// follows is often readable (another thread's TLS, a library), and copying
// it cost a 512 KiB read and copy per thread for nothing.
size_t stack_extent(const ProcessView& view, uint64_t sp, size_t max) {
  uint64_t end = view.region_end(sp);
  return end > sp ? static_cast<size_t>(std::min<uint64_t>(max, end - sp)) : max;
}

// Once this much of all stacks is held, a thread's copy is its top only:
// enough for the innermost frames, the ones a reader looks at first.
constexpr size_t kShortStackBytes = 64 * 1024;

// An upper bound of a thread's size on the wire (profile_json.cpp's keys
// and numbers, plus its strings), to cap the dump before it is encoded.
size_t wire_size_estimate(const ThreadStack& t) {
  size_t n = 96 + t.name.size() + t.syscall.size() + t.error.size();
  for (const Frame& f : t.frames) n += 144 + f.function.size() + f.module.size() + f.file.size();
  return n;
}

// Registers and stack of a thread in one of our stops, then let it go.
void take_stopped(pid_t pid, Captured& c, const StopResult& sr, size_t stack_bytes,
                  const ProcessView& view, StackBuffer& buf) {
  user_regs_struct u{};
  size_t n = 0;
  if (c.att.regs(&u) == ptrace::Op::kDone) {
    regs_from_user(u, c.regs);
    c.have_regs = true;
    c.syscall = blocked_syscall(u);
    c.stack_addr = u.rsp;
    n = copy_stack(pid, u.rsp, stack_extent(view, u.rsp, stack_bytes), buf);
  } else {
    c.error = std::string("registers unreadable: ") + strerror(errno);
  }
  (void)c.att.detach(sr);  // kGone: it died after its registers were read
  c.stack.assign(buf.data(), buf.data() + n);
}

// Copies one thread: seize, stop, registers, stack, detach. Threads in
// uninterruptible sleep cannot be stopped; /proc/TID/syscall still gives
// their pc and sp, enough to unwind through code with CFI. Returns false
// when the thread missed the stop deadline: its stop is still pending.
bool capture(pid_t pid, Captured& c, const StackOptions& o, size_t stack_bytes,
             const ProcessView& view, StackBuffer& buf, Status* fatal, uint64_t* stop_us) {
  if (auto st = proc::read_stat(fmt::format("/proc/{}/task/{}/stat", pid, c.tid))) {
    c.name = st->comm;
    c.state = st->state;
  }
  if (c.state == 'D' || c.state == 'Z' || c.state == 'X') {
    uint64_t sp = 0, pc = 0;
    long nr = -1;
    if (c.state == 'D' && proc::thread_syscall(pid, c.tid, &nr, &sp, &pc) && sp) {
      c.syscall = nr;
      c.regs[kRegSp] = sp;
      c.regs[kRegIp] = pc;
      c.have_regs = c.partial_regs = true;
      c.stack_addr = sp;
      size_t n = copy_stack(pid, sp, stack_extent(view, sp, stack_bytes), buf);
      c.stack.assign(buf.data(), buf.data() + n);
    } else {
      c.error = c.state == 'D' ? "in uninterruptible sleep; no registers readable" : "zombie";
    }
    return true;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto att = ptrace::Attachment::seize(pid, c.tid);
  if (!att) {
    if (att.error().code == errc::kNotFound) {
      c.error = "thread exited";
      return true;
    }
    *fatal = att.error();
    return true;
  }
  c.att = std::move(*att);
  StopResult sr = c.att.stop(o.stop_timeout_ms, /*eager=*/true);
  if (sr.kind == StopKind::kGone) {
    c.att.forget();
    c.error = "thread exited";
    return true;
  }
  if (sr.kind == StopKind::kTimeout) {
    // Entered uninterruptible sleep after we looked. No waiting on it: the
    // dump goes on, a late stop is taken between the next threads, and the
    // capture thread's end cancels a stop that never came (see
    // run_on_tracer_thread).
    c.error = fmt::format("did not stop within {} ms (uninterruptible sleep); left running",
                          o.stop_timeout_ms);
    return false;
  }
  take_stopped(pid, c, sr, stack_bytes, view, buf);
  *stop_us = us_since(t0);
  return true;
}

// Threads that missed their deadline and have stopped since: take them now
// and let them go; those gone are dropped; the rest stay pending.
void collect_late(pid_t pid, std::vector<Captured*>& late,
                  const std::function<size_t()>& copy_bytes, const ProcessView& view,
                  StackBuffer& buf, size_t* held) {
  for (auto it = late.begin(); it != late.end();) {
    Captured& c = **it;
    StopResult sr = c.att.wait_stop(0);
    if (sr.kind == StopKind::kTimeout) {
      ++it;
      continue;
    }
    if (sr.kind == StopKind::kGone) {
      c.att.forget();
      c.error = "thread exited";
    } else {
      c.error.clear();
      take_stopped(pid, c, sr, copy_bytes(), view, buf);
      *held += c.stack.size();
    }
    it = late.erase(it);
  }
}

}  // namespace

Result<StackDump> dump_stacks(pid_t pid, const StackOptions& o, Symbolizer& sym,
                              CancelToken* cancel) {
  if (pid <= 0) return Error{errc::kBadArgs, fmt::format("bad pid {}", pid), {}};
  StackDump d;
  d.pid = pid;
  d.comm = proc::thread_name(pid, pid);
  if (d.comm.empty())
    return Error{errc::kNotFound, fmt::format("no process {}", pid),
                 "list processes with `sonde ps TARGET`"};

  std::vector<Captured> caps;
  for (pid_t tid : proc::list_tids(pid)) caps.push_back(Captured{tid});
  if (caps.empty())
    return Error{errc::kNotFound, fmt::format("no process {}", pid),
                 "list processes with `sonde ps TARGET`"};
  if (caps.size() > o.max_threads) {
    // The main thread always, then the lowest tids (which, once pids have
    // wrapped, can be lower than the main thread's).
    std::sort(caps.begin(), caps.end(), [pid](const Captured& a, const Captured& b) {
      return (a.tid == pid) != (b.tid == pid) ? a.tid == pid : a.tid < b.tid;
    });
    d.threads_more = caps.size() - o.max_threads;
    d.notes.push_back(fmt::format(
        "{} threads: the main thread and the next lowest tids, {} in all, are shown; {} more "
        "are not",
        caps.size(), o.max_threads, d.threads_more));
    caps.resize(o.max_threads);
  }
  // The maps first: they bound each stack copy, and the modules they name
  // are opened while every thread still runs.
  auto t0 = std::chrono::steady_clock::now();
  ImageCache images;
  ProcessView view(pid, images);
  if (auto st = view.refresh(); !st.ok()) {
    // The maps need the access ptrace needs: refused the same way, said the
    // same way as trace and profile say it.
    int e = st.error().sys_errno;
    if (e == EACCES || e == EPERM) return proc::access_refused(pid, e, "ptrace");
    return st.error();
  }
  StackBuffer buf;
  // Every ptrace step on a thread that ends with the capture: no thread of
  // the target stays attached, or stops later, after this returns.
  std::vector<Captured*> late;
  size_t held = 0, short_copies = 0;
  // Once all_stacks_bytes of stacks are held, a thread's copy is its top only.
  auto copy_bytes = [&] {
    bool shortened = held >= o.all_stacks_bytes && o.stack_bytes > kShortStackBytes;
    short_copies += shortened;
    return shortened ? kShortStackBytes : o.stack_bytes;
  };
  auto capture_all = [&]() -> Status {
    for (auto& c : caps) {
      if (cancel && cancel->cancelled()) return Error{errc::kCancelled, "cancelled", {}};
      Status fatal = ok_status();
      uint64_t stop_us = 0;
      if (!capture(pid, c, o, copy_bytes(), view, buf, &fatal, &stop_us)) late.push_back(&c);
      if (!fatal.ok()) return fatal.error();
      held += c.stack.size();
      d.max_stop_us = std::max(d.max_stop_us, stop_us);
      if (!late.empty()) collect_late(pid, late, copy_bytes, view, buf, &held);
    }
    if (!late.empty()) collect_late(pid, late, copy_bytes, view, buf, &held);
    return ok_status();
  };
  auto st = ptrace::run_on_tracer_thread([&] {
    Status r = capture_all();
    // Still not stopped: no stop to detach from; this thread's end lets them go.
    for (Captured* c : late) c->att.abandon();
    return r;
  });
  if (!st.ok()) return st.error();
  for (Captured* c : late)
    d.notes.push_back(fmt::format(
        "thread {} did not stop within {} ms and was let go without its stack (it is in "
        "uninterruptible sleep); run stack again for it",
        c->tid, o.stop_timeout_ms));
  if (short_copies)
    d.notes.push_back(fmt::format(
        "{} threads had only their top {} KiB of stack copied (the agent holds at most {} MiB "
        "of stacks): their outer frames may be missing",
        short_copies, kShortStackBytes / 1024, o.all_stacks_bytes >> 20));
  d.capture_us = us_since(t0);
  t0 = std::chrono::steady_clock::now();

  // Every thread runs again: now the slow part.
  Unwinder unwinder(view);
  FrameResolver resolver(view, sym);
  UnwoundStack us;
  ListBudget budget(o.budget_bytes);
  for (size_t i = 0; i < caps.size(); ++i) {
    if (cancel && cancel->cancelled()) return Error{errc::kCancelled, "cancelled", {}};
    Captured& c = caps[i];
    ThreadStack t;
    t.tid = c.tid;
    t.name = c.name;
    t.state = c.state;
    t.error = c.error;
    if (c.syscall >= 0) t.syscall = ptrace::syscall_label(c.syscall);
    if (c.have_regs) {
      Snapshot s;
      s.tid = c.tid;
      std::copy(std::begin(c.regs), std::end(c.regs), s.regs);
      s.stack_addr = c.stack_addr;
      s.stack = c.stack.data();
      s.stack_len = c.stack.size();
      unwinder.unwind(s, us, o.max_frames);
      for (uint64_t pc : us.pcs)
        for (const Frame& f : resolver.resolve(pc)) t.frames.push_back(f);
      t.truncated = us.truncated;
    }
    std::string note;
    if (c.have_regs && c.partial_regs)
      note = fmt::format("thread {} is in uninterruptible sleep{}: unwound from its pc and sp only",
                         c.tid, t.syscall.empty() ? "" : " (" + t.syscall + ")");
    // Symbolized, the stack's size is known: past the budget the dump ends
    // here and says how many threads it left out.
    if (!budget.take(wire_size_estimate(t) + note.size() + 8)) {
      size_t left = caps.size() - i;
      d.threads_more += left;
      d.notes.push_back(fmt::format(
          "{} more threads not shown: the dump is capped at {} MiB; lower --max-frames to see "
          "more threads",
          left, o.budget_bytes >> 20));
      break;
    }
    if (!note.empty()) d.notes.push_back(std::move(note));
    c.stack = {};  // its copy is no longer needed
    d.threads.push_back(std::move(t));
  }
  for (auto& n : view.take_notes()) d.notes.push_back(std::move(n));
  for (auto& n : sym.take_notes()) d.notes.push_back(std::move(n));
  d.resolve_us = us_since(t0);
  return d;
}

}  // namespace sonde::profiler
