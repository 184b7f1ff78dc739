// The one way sonde starts a command it traces or profiles: fork, a clean
// child (every signal at its default, an empty mask, fds 0-2 only), held
// before exec until the caller is in place, an optional seccomp filter
// installed last, then exec. An exec (or filter) failure comes back as its
// errno through a close-on-exec pipe.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "sonde/common/fd.h"
#include "sonde/common/result.h"

namespace sonde::ptrace {

struct LaunchOptions {
  std::vector<std::string> argv;  // argv[0] is searched in PATH
  enum class Hold {
    kSigstop,  // the child stops itself (SIGSTOP): a tracer seizes it, then release()
    kGate,     // the child blocks on a pipe until release(): nothing stops it
  } hold = Hold::kSigstop;
  // Installed (with PR_SET_NO_NEW_PRIVS) after the hold, right before exec,
  // so the tracer sees the filter's first stop. Empty: none.
  std::vector<sock_filter> seccomp;
  // The agent's stdout carries the protocol: the command writes to stderr.
  bool stdout_to_stderr = false;
};

// A launched child. It owns the pipes, not the process: how the command
// ends is its caller's (the tracer's EXITKILL and reaping, the profiler's
// SIGTERM then SIGKILL), since only the caller knows when the pid is reaped.
class Launched {
 public:
  pid_t pid() const { return pid_; }
  // kSigstop: waits until the child is in its self-stop.
  Status wait_stopped();
  // Lets the child go on to its filter and exec: SIGCONT or the gate byte.
  Status release();
  // After release: 0 once the exec happened, else the errno that stopped it
  // (blocks until one of the two; read once, then remembered).
  int exec_errno();

 private:
  friend Result<Launched> launch(const LaunchOptions& o);
  pid_t pid_ = -1;
  LaunchOptions::Hold hold_ = LaunchOptions::Hold::kSigstop;
  ScopedFd gate_, report_;
  int exec_errno_ = -1;
};

// An Error only when the fork or its pipes fail.
Result<Launched> launch(const LaunchOptions& o);

}  // namespace sonde::ptrace
