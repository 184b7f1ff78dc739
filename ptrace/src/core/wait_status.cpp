#include "sonde/ptrace/wait_status.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

namespace sonde::ptrace {

bool is_stop_signal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

WaitStatus::Type WaitStatus::type() const {
  if (WIFEXITED(raw_)) return Type::kExited;
  if (WIFSIGNALED(raw_)) return Type::kKilled;
  if (WIFCONTINUED(raw_)) return Type::kContinued;
  int sig = WSTOPSIG(raw_);
  if (sig == (SIGTRAP | 0x80)) return Type::kSyscallStop;
  int event = ptrace_event();
  if (event == 0) return Type::kSignalStop;
  // Under PTRACE_SEIZE a group-stop is reported as PTRACE_EVENT_STOP with the
  // stop signal; an interrupt-stop and a new child's first stop carry SIGTRAP.
  if (event == PTRACE_EVENT_STOP && is_stop_signal(sig)) return Type::kGroupStop;
  return Type::kEventStop;
}

int WaitStatus::exit_code() const {
  return WIFEXITED(raw_) ? WEXITSTATUS(raw_) : -1;
}

int WaitStatus::term_signal() const {
  return WIFSIGNALED(raw_) ? WTERMSIG(raw_) : 0;
}

int WaitStatus::stop_signal() const {
  return stopped() ? WSTOPSIG(raw_) & ~0x80 : 0;
}

}  // namespace sonde::ptrace
