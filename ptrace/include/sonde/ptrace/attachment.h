// One ptrace attachment to one task, owned: the core every ptrace user in
// sonde goes through (the syscall tracer, the ptrace sampler, the stack dump).
//
// ESRCH contract. ptrace(2) answers ESRCH when the task died, or when it is
// not in a ptrace-stop we may act on (it was let go, or already resumed). On
// a production host threads come and go while we look, so ESRCH is never an
// error for the user: every request below returns Op::kGone for it, and the
// caller forgets the task (a thread) or reports the process as exited. Any
// other errno is a bug in the caller (a request the task's state does not
// allow); it is logged at debug level and also reported as kGone, since the
// task cannot be driven further either way. Seizing is the one place errors
// reach the user: EPERM and the like come back as an Error with a hint.
//
// ptrace attachments belong to the thread that made them: every request on
// an Attachment must come from that thread (see tracer_thread.h).
#pragma once

#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>

#include "sonde/common/result.h"
#include "sonde/ptrace/wait_status.h"

namespace sonde::ptrace {

enum class [[nodiscard]] Op{kDone, kGone};

// How a stopped task goes on.
enum class Resume {
  kCont,     // PTRACE_CONT: run until the next signal or event
  kSyscall,  // PTRACE_SYSCALL: also stop at the next syscall entry or exit
  kListen,   // PTRACE_LISTEN: stay in group-stop, but report the SIGCONT that ends it
};

// What a stop request ended in.
enum class StopKind {
  kStopped,  // in our interrupt-stop (or a group-stop): registers readable
  kSignal,   // stopped for a signal it is about to receive: pass it on resume
  kGone,     // it exited
  kTimeout,  // did not stop in time (uninterruptible sleep); the stop is still pending
};

struct StopResult {
  StopKind kind = StopKind::kGone;
  int signal = 0;           // kSignal: the signal to deliver on resume or detach
  bool group_stop = false;  // stopped (SIGSTOP) before us: it stays stopped on resume
};

// The StopResult a wait status means (exit → kGone).
StopResult stop_result(WaitStatus st);

class [[nodiscard]] Attachment {
 public:
  Attachment() = default;
  // PTRACE_SEIZE tid (a thread of tgid) with PTRACE_O_* options; the task
  // keeps running. ESRCH → errc::kNotFound; EPERM → errc::kPermission naming
  // the tracer already there or the ptrace_scope setting.
  static Result<Attachment> seize(pid_t tgid, pid_t tid, unsigned long options = 0);
  // A task the kernel attached to us: an auto-attached fork or clone child.
  static Attachment adopt(pid_t tid) { return Attachment(tid); }

  Attachment(Attachment&& o) noexcept : tid_(o.tid_) { o.tid_ = 0; }
  Attachment& operator=(Attachment&& o) noexcept;
  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;
  // Still attached: detaches and leaves the task running. From a stop that
  // is one PTRACE_DETACH; a running task is interrupted first and its stop
  // awaited for up to 100 ms. A signal-delivery-stop the owner saw and did
  // not hand back through detach(sig) is lost: owners detach explicitly
  // from the stops they see, this is the path for every other exit.
  ~Attachment();

  pid_t tid() const { return tid_; }
  bool attached() const { return tid_ > 0; }

  // Every request below: see the ESRCH contract at the top.
  Op interrupt();
  Op resume(Resume how, int sig = 0);
  // From a ptrace-stop only (PTRACE_DETACH needs one): lets go, delivering
  // sig. The attachment is over whatever the answer (kGone: it died).
  Op detach(int sig = 0);
  Op event_msg(unsigned long* msg);
  Op regs(user_regs_struct* out);
  // One register (PTRACE_POKEUSER at its offset in user_regs_struct).
  Op set_reg(size_t offset, uint64_t value);
  // PTRACE_GET_SYSCALL_INFO: the bytes the kernel filled, 0 when gone.
  size_t syscall_info(__ptrace_syscall_info* out);

  // Stop it (PTRACE_INTERRUPT) and wait up to timeout_ms for the stop.
  // eager: yield-poll for the stop instead of sleeping between polls (a
  // one-shot dump, where the hold time matters more than our CPU).
  StopResult stop(int timeout_ms, bool eager = false);
  // Waits (up to timeout_ms, 0 = a peek) for a stop of this task: one that
  // stop() timed out on, or one it got by itself (a signal, a group-stop).
  StopResult wait_stop(int timeout_ms, bool eager = false);
  // Resumes from st: passes on its signal; a group-stop stays stopped.
  Op resume(const StopResult& st);
  Op detach(const StopResult& st) { return detach(st.kind == StopKind::kSignal ? st.signal : 0); }

  // We saw its last wait status: nothing is left to detach.
  void forget() { tid_ = 0; }
  // Leaves it attached without a stop to detach from (a thread in
  // uninterruptible sleep): the tracer thread's exit lets it go, see
  // tracer_thread.h.
  void abandon() { tid_ = 0; }

 private:
  explicit Attachment(pid_t tid) : tid_(tid) {}
  Op request(int req, unsigned long addr, unsigned long data, const char* what);

  pid_t tid_ = 0;
};

}  // namespace sonde::ptrace
