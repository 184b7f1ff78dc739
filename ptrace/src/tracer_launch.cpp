#include <signal.h>
#include <sys/ptrace.h>

#include <algorithm>

#include "sonde/common/log.h"
#include "sonde/proc/stat.h"
#include "tracer_internal.h"

namespace sonde::ptrace {

Status Tracer::seize(pid_t tid, pid_t tgid, bool is_leader) {
  unsigned long o = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACECLONE;
  if (follow_) o |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
  if (launch_) o |= PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP;
  auto att = Attachment::seize(tgid, tid, o);
  if (!att) {
    if (att.error().code == errc::kNotFound && !is_leader) return ok_status();  // thread died
    return att.error();
  }
  Task& t = task(tid, tgid, std::move(*att));
  colocate_.pin(tid);
  // A stop we can resume from with PTRACE_SYSCALL (kGone: it died meanwhile,
  // its exit comes through the loop).
  (void)t.att.interrupt();
  return ok_status();
}

Status Tracer::attach_all() {
  for (int pid : opts_.attach_pids) {
    if (pid <= 0) return Error{errc::kBadArgs, fmt::format("bad pid {}", pid), {}};
    if (::kill(pid, 0) != 0 && errno == ESRCH)
      return Error{errc::kNotFound, fmt::format("no process {}", pid),
                   "list processes with `sonde ps TARGET`"};
    // Threads may be born while we attach: list until nothing new appears.
    std::vector<pid_t> seen;
    for (int round = 0; round < 10; ++round) {
      bool added = false;
      for (pid_t tid : proc::list_tids(pid)) {
        if (std::find(seen.begin(), seen.end(), tid) != seen.end()) continue;
        seen.push_back(tid);
        added = true;
        if (auto st = seize(tid, pid, tid == pid); !st.ok()) {
          if (tid == pid) return st.error();
          if (st.error().code != errc::kNotFound) spdlog::warn("{}", st.error().message);
        }
      }
      if (!added) break;
    }
    if (TraceEvent* e = event(TraceEvent::Type::kAttached, pid)) {
      e->tids = seen.size();
      e->ts_ns = real_ns();
      publish();
    }
  }
  return ok_status();
}

Status Tracer::launch() {
  LaunchOptions lo;
  lo.argv = opts_.launch_argv;
  lo.hold = LaunchOptions::Hold::kSigstop;
  lo.stdout_to_stderr = true;
  if (seccomp_) {
    lo.seccomp = build_seccomp_filter(want_);
    if (lo.seccomp.empty()) seccomp_ = false;
  }
  auto l = ptrace::launch(lo);
  if (!l) return l.error();
  child_ = std::move(*l);
  pid_t pid = child_.pid();
  if (auto st = child_.wait_stopped(); !st.ok()) return st;
  if (auto s = seize(pid, pid, true); !s.ok()) {
    ::kill(pid, SIGKILL);
    return s;
  }
  task(pid, pid).pre_exec = true;
  return child_.release();
}

}  // namespace sonde::ptrace
