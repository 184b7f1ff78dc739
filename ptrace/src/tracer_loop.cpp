#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "sonde/common/io.h"
#include "sonde/common/log.h"
#include "sonde/proc/stat.h"
#include "tracer_internal.h"

namespace sonde::ptrace {
namespace {

// Syscalls whose return value is a new fd: -y annotates it, as strace does.
bool returns_fd(long nr) {
  switch (nr) {
    case SYS_open:
    case SYS_openat:
    case SYS_openat2:
    case SYS_creat:
    case SYS_socket:
    case SYS_accept:
    case SYS_accept4:
    case SYS_dup:
    case SYS_dup2:
    case SYS_dup3:
    case SYS_epoll_create:
    case SYS_epoll_create1:
    case SYS_eventfd:
    case SYS_eventfd2:
    case SYS_timerfd_create:
    case SYS_signalfd:
    case SYS_signalfd4:
    case SYS_memfd_create:
    case SYS_inotify_init:
    case SYS_inotify_init1:
    case SYS_fanotify_init:
    case SYS_pidfd_open:
    case SYS_open_by_handle_at:
    case SYS_userfaultfd:
      return true;
    default:
      return false;
  }
}

// The process tid belongs to, -1 when it is gone.
pid_t tgid_of(pid_t tid) {
  auto st = proc::read_status(tid);
  return st && st->tgid > 0 ? st->tgid : -1;
}

}  // namespace

void Tracer::resume(Task& t, int sig) {
  if (t.hold_ns > 0) {
    // An injected delay: the task stays in its stop; release_due() resumes it.
    held_.emplace(mono_ns() + t.hold_ns, t.tid);
    t.hold_ns = 0;
    t.held = true;
    t.held_sig = sig;
    return;
  }
  // Under the filter, a call nothing will show needs no exit stop: one of
  // a hidden child (launch without -f), or, injecting and showing only what
  // fired, one no rule fired on (half the stops of strace's inject).
  if (seccomp_ && t.in_syscall && !t.pre_exec && (t.hidden || (injected_only_ && !t.injected)))
    t.in_syscall = false;
  // Between a seccomp stop and its syscall-exit we need PTRACE_SYSCALL; else
  // with seccomp everything else runs free under PTRACE_CONT.
  Resume how = seccomp_ && !t.in_syscall ? Resume::kCont : Resume::kSyscall;
  (void)t.att.resume(how, sig);  // kGone: its exit comes through the loop
}

void Tracer::on_syscall(Task& t) {
  __ptrace_syscall_info info;
  if (t.att.syscall_info(&info) == 0) return;
  if (info.op == PTRACE_SYSCALL_INFO_ENTRY || info.op == PTRACE_SYSCALL_INFO_SECCOMP) {
    // entry and seccomp share the layout of nr and args.
    bool entry = info.op == PTRACE_SYSCALL_INFO_ENTRY;
    t.in_syscall = true;
    t.nr = static_cast<long>(entry ? info.entry.nr : info.seccomp.nr);
    for (int i = 0; i < 6; ++i) t.args[i] = entry ? info.entry.args[i] : info.seccomp.args[i];
    t.entry_mono = mono_ns();
    t.have_entry_decode = false;
    t.unfinished = false;
    // The first call after attach: a restart_syscall resumes the call the
    // thread was blocked in.
    t.resumes_nr = t.blocked_nr >= 0 && t.nr == SYS_restart_syscall ? t.blocked_nr : -1;
    t.blocked_nr = -1;
    inject_entry(t);
    // The launched child's own execve is shown (and must be read now, before
    // the exec replaces its memory); its other setup syscalls are not.
    bool is_exec = t.nr == SYS_execve || t.nr == SYS_execveat;
    bool show = !opts_.summary_only && wanted(t.nr) && (!t.pre_exec || is_exec) && shows(t);
    if (show) t.entry_real = real_ns();
    // With -y, close must be read before it closes: at exit the fd is gone.
    bool at_entry = decode_at_entry(t.nr) || (opts_.decode.annotate_fds && t.nr == SYS_close);
    if (show && at_entry) {
      VmReader mem(t.tid);
      decode_args_into(t.entry_decoded, t.tid, t.nr, t.args, kNoReturn, mem,
                       opts_.decode.annotate_fds ? &fds_ : nullptr, opts_.decode);
      t.have_entry_decode = true;
    }
    if ((t.nr == SYS_exit || t.nr == SYS_exit_group) && !t.pre_exec && wanted(t.nr)) {
      // These never reach a syscall-exit stop: show them now, with strace's
      // "= ?". Like strace -c, the summary counts completed calls only.
      t.in_syscall = false;
      TraceEvent* e = show && !opts_.failed_only
                          ? event(TraceEvent::Type::kSyscall, t.tid, t.entry_real)
                          : nullptr;
      if (e) {
        e->nr = t.nr;
        e->returned = false;
        e->args_text.assign(t.entry_decoded.args_text);
        e->ret_text.push_back('?');  // strace's "= ?"
        e->ts_ns = t.entry_real;
        e->injected = t.injected;
        if (opts_.decode.structured) e->args = std::move(t.entry_decoded.args);
        publish();
      }
      return;
    }
    if (show && mark_unfinished_ && !t.pre_exec) pend(t);
    return;
  }
  if (t.pending_at >= 0) unpend(t);
  if (info.op != PTRACE_SYSCALL_INFO_EXIT || !t.in_syscall) {
    t.in_syscall = false;
    return;
  }
  t.in_syscall = false;
  on_syscall_exit(t, inject_exit(t, info.exit.rval));
}

void Tracer::on_syscall_exit(Task& t, int64_t ret) {
  int64_t dur = mono_ns() - t.entry_mono;
  if (t.pre_exec) {
    // The launched child's own setup (seccomp, execve) is not the command's.
    if ((t.nr == SYS_execve || t.nr == SYS_execveat) && ret == 0)
      t.pre_exec = false;
    else
      return;
  }
  if (opts_.decode.annotate_fds) {
    uint64_t flags = 0;
    if (t.nr == SYS_clone) {
      flags = t.args[0];
    } else if (t.nr == SYS_clone3) {
      // struct clone_args starts with its flags; unreadable reads as sharing.
      VmReader mem(t.tid);
      if (mem.read(RemotePtr<void>(t.args[0]), &flags, sizeof flags) != sizeof flags)
        flags = CLONE_FILES;
    }
    fds_.exit_seen(t.tid, t.tgid, t.nr, ret, flags);
  }
  if (!wanted(t.nr) || t.hidden) return;
  bool failed = ret < 0 && ret > -4096;
  Counter& c = counts_[t.tgid][t.nr];
  ++c.calls;
  if (failed) ++c.errors;
  c.time_ns += dur;
  if (opts_.summary_only || (opts_.failed_only && !failed) || !shows(t)) return;
  if (opts_.decode.annotate_fds) {
    if (t.nr == SYS_bind || t.nr == SYS_connect)
      fds_.changed(t.tid, static_cast<int>(t.args[0]));
    else if (t.nr == SYS_listen || t.nr == SYS_sendto || t.nr == SYS_sendmsg ||
             t.nr == SYS_sendmmsg)
      fds_.may_be_listed(t.tid, static_cast<int>(t.args[0]));
  }
  // Announced at entry, the rest is a "resumed" line at the time it
  // returned: lines stay in time order.
  int64_t ts = t.unfinished ? real_ns() : t.entry_real;
  // No slot (the ring is full): the event is counted lost, nothing decoded.
  TraceEvent* e = event(TraceEvent::Type::kSyscall, t.tid, ts);
  if (!e) return;
  DecodedCall& d = t.have_entry_decode ? t.entry_decoded : scratch_;
  if (!t.have_entry_decode) {
    VmReader mem(t.tid);
    decode_args_into(scratch_, t.tid, t.nr, t.args, ret, mem,
                     opts_.decode.annotate_fds ? &fds_ : nullptr, opts_.decode);
  }
  e->nr = t.nr;
  e->ret = ret;
  e->ts_ns = ts;
  e->dur_ns = dur;
  e->part = t.unfinished ? TraceEvent::Part::kResumed : TraceEvent::Part::kWhole;
  e->args_text.assign(d.args_text);
  fix_restart_text(t, e->args_text);
  e->ret_text.assign(format_return(t.nr, ret, d));
  e->injected = t.injected;
  if (opts_.decode.annotate_fds && ret >= 0 && returns_fd(t.nr))
    fds_.annotate_new(t.tid, static_cast<int>(ret), e->ret_text);
  if (opts_.decode.structured) e->args = std::move(d.args);
  publish();
}

void Tracer::on_event_stop(Task& t, int event) {
  switch (event) {
    case PTRACE_EVENT_SECCOMP:
      on_syscall(t);
      break;  // resumed with PTRACE_SYSCALL: we want this syscall's exit
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE: {
      unsigned long msg = 0;
      if (t.att.event_msg(&msg) == Op::kDone && msg) {
        pid_t child = static_cast<pid_t>(msg);
        // clone3 keeps its flags in a struct: ask /proc whose thread it is.
        pid_t tgid = tgid_of(child);
        Task& c = task(child, tgid > 0 ? tgid : (event == PTRACE_EVENT_CLONE ? t.tgid : child));
        if (tgid > 0) {
          c.tgid = tgid;
          c.hidden = launch_ && !opts_.follow_forks && tgid != child_.pid();
        }
        c.pre_exec = false;
        // It inherited the pinned mask; restore it to its creator's original.
        colocate_.inherit(t.tid, child);
      }
      break;
    }
    case PTRACE_EVENT_EXEC: {
      unsigned long former = 0;
      (void)t.att.event_msg(&former);
      // A non-leader thread that execs takes over the leader's tid.
      pid_t tid = t.tid;
      if (static_cast<pid_t>(former) != tid) {
        auto old = tasks_.find(static_cast<pid_t>(former));
        if (old != tasks_.end()) {
          if (t.pending_at >= 0) unpend(t);
          if (old->second.pending_at >= 0) unpend(old->second);
          Task moved = std::move(old->second);
          moved.att.forget();  // the old tid no longer exists
          tasks_.erase(old);
          moved.tid = tid;
          moved.att = std::move(t.att);
          tasks_[tid] = std::move(moved);
        }
      }
      resume(tasks_.at(tid));
      return;
    }
    default:
      break;  // PTRACE_EVENT_EXIT, an interrupt-stop, a new child's first stop
  }
  resume(t);
}

void Tracer::handle_stop(pid_t tid, WaitStatus status) {
  auto it = tasks_.find(tid);
  if (status.gone()) {
    pid_t tgid = it != tasks_.end() ? it->second.tgid : tid;
    bool hidden = it != tasks_.end() && it->second.hidden;
    if (it != tasks_.end()) {
      Task& t = it->second;
      unpend(t);
      // Shown as unfinished and never to return (exit_group took the
      // thread): strace's "<... NAME resumed>) = ?".
      if (t.unfinished && t.in_syscall) {
        int64_t now = real_ns();
        if (TraceEvent* e = event(TraceEvent::Type::kSyscall, tid, now)) {
          e->nr = t.nr;
          e->part = TraceEvent::Part::kResumed;
          e->returned = false;
          e->ts_ns = now;
          e->ret_text.push_back('?');
          publish();
        }
        t.unfinished = false;
      }
    }
    // sonde inject shows the launched command's end only.
    if (tid == tgid && !hidden && (!injected_only_ || tid == child_.pid())) {
      auto type = status.exited() ? TraceEvent::Type::kExit : TraceEvent::Type::kKilled;
      int64_t now = real_ns();
      if (TraceEvent* e = event(type, tid, now)) {
        e->code = status.exit_code();
        e->sig = status.term_signal();
        e->ts_ns = now;
        publish();
      }
    }
    if (tid == child_.pid()) child_status_ = status.raw();
    if (it != tasks_.end()) {
      it->second.att.forget();
      tasks_.erase(it);
    }
    return;
  }
  if (!status.stopped()) return;
  if (it == tasks_.end()) {
    // An auto-attached child whose stop outran its parent's fork event.
    pid_t tgid = tgid_of(tid);
    task(tid, tgid > 0 ? tgid : tid);
    it = tasks_.find(tid);
  }
  Task& t = it->second;
  int sig = status.stop_signal();
  switch (status.type()) {
    case WaitStatus::Type::kSyscallStop:
      on_syscall(t);
      resume(t);
      return;
    case WaitStatus::Type::kGroupStop:
      // The target stopped itself: it stays stopped, as without us, and
      // LISTEN lets us see the SIGCONT that wakes it.
      if (!t.pre_exec && !t.hidden) emit_signal(tid, sig, true);
      (void)t.att.resume(Resume::kListen);
      return;
    case WaitStatus::Type::kEventStop:
      on_event_stop(t, status.ptrace_event());
      return;
    default:
      break;
  }
  // Signal-delivery-stop: show it, and deliver it unchanged.
  if (!t.pre_exec && !t.hidden) emit_signal(tid, sig, false);
  resume(t, sig);
}

void Tracer::emit_signal(pid_t tid, int sig, bool group_stop) {
  if (injected_only_) return;  // sonde inject shows what it changed, not the traffic
  int64_t now = real_ns();
  if (TraceEvent* e = event(TraceEvent::Type::kSignal, tid, now)) {
    e->sig = sig;
    e->group_stop = group_stop;
    e->ts_ns = now;
    publish();
  }
}

void Tracer::loop() {
  while (!tasks_.empty()) {
    if (stopping_.load()) return;
    // Attached with --count: the last fault is in, the run is over.
    if (limit_reached_ && !launch_) return;
    if (!held_.empty()) release_due();
    if (unfinished_due_ && mono_ns() >= unfinished_due_) announce_due();
    if (!held_.empty() || timer_due_ || unfinished_due_) arm_timer();
    int status = 0;
    pid_t tid = 0;
    if (spin_ns_ > 0) {
      // The next stop usually comes within microseconds: looking for it
      // without sleeping spares this CPU the wakeup from idle that a
      // blocking wait pays at every stop.
      int64_t until = mono_ns() + spin_ns_;
      do tid = ::waitpid(-1, &status, __WALL | __WNOTHREAD | WNOHANG);
      while (tid == 0 && mono_ns() < until);
    }
    if (tid == 0) tid = ::waitpid(-1, &status, __WALL | __WNOTHREAD);
    if (tid < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) {
        for (auto& [id, t] : tasks_) t.att.forget();
        tasks_.clear();
        unfinished_.clear();
        return;
      }
      spdlog::warn("waitpid: {}", strerror(errno));
      return;
    }
    handle_stop(tid, WaitStatus(status));
  }
}

// Launched commands die with the trace, like under strace.
void Tracer::kill_launched() {
  for (auto& [tid, t] : tasks_) ::kill(tid, SIGKILL);
  long deadline = mono_ns() + 2000000000L;
  while (!tasks_.empty() && mono_ns() < deadline) {
    int raw;
    pid_t w = ::waitpid(-1, &raw, __WALL | __WNOTHREAD);
    if (w < 0) {
      if (errno == EINTR) continue;
      break;
    }
    WaitStatus st(raw);
    handle_stop(w, st);
    if (auto it = tasks_.find(w); st.stopped() && it != tasks_.end())
      (void)it->second.att.resume(Resume::kCont);  // let it reach the kill
  }
  for (auto& [tid, t] : tasks_) t.att.forget();  // SIGKILLed; EXITKILL covers the rest
  tasks_.clear();
  unfinished_.clear();
}

void Tracer::detach_all() {
  // A call still blocked is shown before the detach, as strace does.
  announce_all();
  // Nothing is due any more: the timer is disarmed. Tasks held for an
  // injected delay are let go below (t.held).
  held_.clear();
  arm_timer();
  colocate_.restore();
  if (launch_) {
    kill_launched();
    return;
  }
  // Tasks held for an injected delay are in a stop already: let them go
  // now (a replaced call is skipped with its result in place).
  for (auto& [tid, t] : tasks_)
    if (t.held) (void)t.att.detach(t.held_sig);
  // Interrupt everyone, then detach each as its stop arrives, handing back
  // a signal it was about to receive.
  std::map<pid_t, bool> pending;
  for (auto& [tid, t] : tasks_) {
    if (!t.att.attached()) continue;  // let go above
    (void)t.att.interrupt();          // kGone: its exit status is what we wait for
    pending[tid] = true;
  }
  long deadline = mono_ns() + 3000000000L;
  while (!pending.empty() && mono_ns() < deadline) {
    int raw = 0;
    pid_t w = ::waitpid(-1, &raw, __WALL | __WNOTHREAD | WNOHANG);
    if (w == 0) {
      ::usleep(1000);
      continue;
    }
    if (w < 0) {
      if (errno == EINTR) continue;
      break;
    }
    WaitStatus st(raw);
    pending.erase(w);
    auto it = tasks_.find(w);
    if (it == tasks_.end()) continue;
    if (!st.stopped()) {  // exited on its own meanwhile
      it->second.att.forget();
      continue;
    }
    // A call whose number we replaced stops at its exit first: its result goes in.
    if (it->second.tampered) (void)inject_exit(it->second, 0);
    // A real signal (signal-delivery-stop) is handed back; ptrace's own stops carry none.
    (void)it->second.att.detach(st.pending_signal());
  }
  for (auto& [tid, ignored] : pending) {
    // Still running without a stop (should not happen): PTRACE_DETACH needs
    // a stop, so this one is detached by the kernel when we exit.
    notes_.push_back(fmt::format("thread {} did not stop for detach in time", tid));
    tasks_[tid].att.abandon();
  }
  for (auto& [tid, t] : tasks_)
    if (t.tid == t.tgid)
      if (int64_t now = real_ns(); TraceEvent* e = event(TraceEvent::Type::kDetached, tid, now)) {
        e->ts_ns = now;
        publish();
      }
  tasks_.clear();
}

}  // namespace sonde::ptrace
