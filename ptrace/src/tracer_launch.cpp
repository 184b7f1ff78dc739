#include <signal.h>
#include <sys/ptrace.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "sonde/common/io.h"
#include "sonde/common/log.h"
#include "sonde/proc/stat.h"
#include "tracer_internal.h"

namespace sonde::ptrace {
namespace {

// The syscall /proc/PID/task/TID/syscall says the thread is in ("running",
// or -1 when it is blocked outside a syscall: none).
long blocked_syscall(pid_t tgid, pid_t tid) {
  auto text = read_file(fmt::format("/proc/{}/task/{}/syscall", tgid, tid), 256);
  if (!text || text->empty() || !std::isdigit(static_cast<unsigned char>((*text)[0]))) return -1;
  return std::strtol(text->c_str(), nullptr, 10);
}

}  // namespace

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
  // Attach: the call it is blocked in, if any. The interrupt below makes the
  // kernel restart it, often as restart_syscall, which is then shown as
  // strace does: "restart_syscall(<... resuming interrupted NAME ...>".
  if (!launch_) t.blocked_nr = blocked_syscall(tgid, tid);
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
    int64_t now = real_ns();
    if (TraceEvent* e = event(TraceEvent::Type::kAttached, pid, now)) {
      e->tids = seen.size();
      e->ts_ns = now;
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
  // Under the seccomp filter children are followed even without -f: a child
  // under the filter with no tracer gets ENOSYS for every filtered call.
  // Without -f they are hidden (Task::hidden): neither shown, counted nor
  // changed by inject, as strace does not trace them. Without the filter a
  // child nobody traces runs as it would.
  follow_ = opts_.follow_forks || seccomp_;
  fds_.keep_socket_fds(!seccomp_);
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
