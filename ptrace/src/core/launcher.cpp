#include "sonde/ptrace/launcher.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "sonde/common/subprocess.h"
#include "sonde/common/thread.h"

namespace sonde::ptrace {
namespace {

[[noreturn]] void child_fail(int report_fd, int code) {
  int e = errno;
  (void)!::write(report_fd, &e, sizeof e);
  ::_exit(code);
}

// Between fork and exec: async-signal-safe calls only (the agent has threads).
[[noreturn]] void run_child(const LaunchOptions& o, char* const* argv, const sock_fprog* prog,
                            int gate_fd, int report_fd) {
  // The agent's stdin carries the protocol: the command reads /dev/null.
  int nul = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (nul >= 0) ::dup2(nul, 0);
  if (o.stdout_to_stderr) ::dup2(2, 1);
  // The command starts clean, not with the agent's ignored SIGPIPE, blocked
  // shutdown signals and open sockets: fds 0-2 and our close-on-exec pipe
  // ends only.
  int keep[2] = {report_fd, gate_fd};
  reset_child_for_exec(keep, gate_fd >= 0 ? 2 : 1);
  if (o.hold == LaunchOptions::Hold::kSigstop) {
    ::raise(SIGSTOP);  // here until the tracer has seized us and sent SIGCONT
  } else {
    char c;
    if (::read(gate_fd, &c, 1) != 1) ::_exit(127);
  }
  if (prog) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) != 0)
      child_fail(report_fd, 126);
  }
  ::execvp(argv[0], argv);
  child_fail(report_fd, 127);
}

}  // namespace

Result<Launched> launch(const LaunchOptions& o) {
  if (o.argv.empty() || o.argv[0].empty())
    return Error{errc::kBadArgs, "the command to launch is empty", {}};
  // Everything the child needs is built before the fork.
  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  sock_fprog prog{static_cast<unsigned short>(o.seccomp.size()),
                  const_cast<sock_filter*>(o.seccomp.data())};
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return errno_error("pipe");
  ScopedFd report_r(report[0]), report_w(report[1]);
  ScopedFd gate_r, gate_w;
  if (o.hold == LaunchOptions::Hold::kGate) {
    int gate[2];
    if (::pipe2(gate, O_CLOEXEC) != 0) return errno_error("pipe");
    gate_r.reset(gate[0]);
    gate_w.reset(gate[1]);
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    return errno_error("fork", e, e == EAGAIN ? no_task_hint() : "");
  }
  if (pid == 0)
    run_child(o, argv.data(), o.seccomp.empty() ? nullptr : &prog, gate_r.get(), report_w.get());
  Launched l;
  l.pid_ = pid;
  l.hold_ = o.hold;
  l.gate_ = std::move(gate_w);
  l.report_ = std::move(report_r);
  return l;
}

Status Launched::wait_stopped() {
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, WUNTRACED);
  } while (r < 0 && errno == EINTR);
  if (r != pid_ || !WIFSTOPPED(st))
    return Error{errc::kInternal, "launched child did not stop", {}};
  return ok_status();
}

Status Launched::release() {
  if (hold_ == LaunchOptions::Hold::kSigstop) {
    if (::kill(pid_, SIGCONT) != 0) return errno_error("release child");
    return ok_status();
  }
  if (::write(gate_.get(), "x", 1) != 1) return errno_error("release child");
  gate_.reset();
  return ok_status();
}

int Launched::exec_errno() {
  if (exec_errno_ >= 0) return exec_errno_;
  int e = 0;
  ssize_t n;
  do {
    n = ::read(report_.get(), &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  exec_errno_ = n == sizeof e ? e : 0;
  report_.reset();
  return exec_errno_;
}

}  // namespace sonde::ptrace
