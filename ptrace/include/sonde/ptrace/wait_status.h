// A waitpid(2) status as a value: one decoder for every ptrace user, so the
// tracer, the sampler and the stack dump read the same bits the same way.
#pragma once

namespace sonde::ptrace {

class WaitStatus {
 public:
  enum class Type {
    kExited,       // exit() or return from main: exit_code()
    kKilled,       // a signal ended it: term_signal()
    kSignalStop,   // signal-delivery-stop: stop_signal() is on its way in
    kGroupStop,    // PTRACE_EVENT_STOP carrying a stop signal (SIGSTOP & co)
    kSyscallStop,  // syscall entry or exit, SIGTRAP|0x80 (PTRACE_O_TRACESYSGOOD)
    kEventStop,    // PTRACE_EVENT_*: ptrace_event(); includes interrupt-stops
    kContinued,    // WCONTINUED: not used by ptrace callers, kept exact
  };

  constexpr explicit WaitStatus(int raw) : raw_(raw) {}

  constexpr int raw() const { return raw_; }
  Type type() const;

  bool exited() const { return type() == Type::kExited; }
  bool killed() const { return type() == Type::kKilled; }
  // Exited or killed: the task is gone and this status was its last.
  bool gone() const { return exited() || killed(); }
  bool stopped() const { return (raw_ & 0xff) == 0x7f; }

  int exit_code() const;    // kExited, else -1
  int term_signal() const;  // kKilled, else 0
  // The signal of any stop, without TRACESYSGOOD's 0x80 bit (a syscall-stop
  // gives SIGTRAP); 0 when not stopped.
  int stop_signal() const;
  // PTRACE_EVENT_* of an event stop (bits 16-23 only: the kernel puts
  // nothing above them today, and masking keeps it so), 0 otherwise.
  int ptrace_event() const { return stopped() ? (raw_ >> 16) & 0xff : 0; }
  // The signal to hand back when detaching from or resuming this stop: the
  // signal of a signal-delivery-stop, 0 for every ptrace-made stop.
  int pending_signal() const { return type() == Type::kSignalStop ? stop_signal() : 0; }

 private:
  int raw_;
};

// True for the signals that put a process in group-stop.
bool is_stop_signal(int sig);

}  // namespace sonde::ptrace
