#include "sonde/ptrace/attachment.h"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sonde/common/io.h"
#include "sonde/common/log.h"
#include "sonde/proc/ptrace_access.h"

namespace sonde::ptrace {
namespace {

// How long the destructor waits for a running task's stop before giving up
// on it (the tracer thread's exit then lets it go).
constexpr long kDestructorStopMs = 100;
constexpr long kYieldPollMs = 2;

}  // namespace

StopResult stop_result(WaitStatus st) {
  StopResult r;
  switch (st.type()) {
    case WaitStatus::Type::kExited:
    case WaitStatus::Type::kKilled:
      r.kind = StopKind::kGone;
      break;
    case WaitStatus::Type::kSignalStop:
      // A signal on its way to the thread: registers are readable all the
      // same, and the signal must be passed on when we let go.
      r.kind = StopKind::kSignal;
      r.signal = st.stop_signal();
      break;
    case WaitStatus::Type::kGroupStop:
      r.kind = StopKind::kStopped;
      r.group_stop = true;
      break;
    default:
      // Our interrupt-stop, or an event stop: stopped, nothing to hand back.
      r.kind = StopKind::kStopped;
      break;
  }
  return r;
}

Result<Attachment> Attachment::seize(pid_t tgid, pid_t tid, unsigned long options) {
  if (::ptrace(PTRACE_SEIZE, tid, nullptr, reinterpret_cast<void*>(options)) == 0)
    return Attachment(tid);
  return proc::ptrace_attach_error(tgid, tid, errno);
}

Attachment& Attachment::operator=(Attachment&& o) noexcept {
  if (this != &o) {
    this->~Attachment();
    tid_ = o.tid_;
    o.tid_ = 0;
  }
  return *this;
}

Attachment::~Attachment() {
  if (tid_ <= 0) return;
  // In a stop already: one request does it. ESRCH here means running or gone.
  if (::ptrace(PTRACE_DETACH, tid_, nullptr, nullptr) == 0) {
    tid_ = 0;
    return;
  }
  if (interrupt() == Op::kGone) {
    tid_ = 0;
    return;
  }
  StopResult st = wait_stop(static_cast<int>(kDestructorStopMs));
  if (st.kind == StopKind::kTimeout)
    abandon();
  else if (st.kind == StopKind::kGone)
    forget();
  else
    (void)detach(st);
}

Op Attachment::request(int req, unsigned long addr, unsigned long data, const char* what) {
  if (tid_ <= 0) return Op::kGone;
  if (::ptrace(static_cast<enum __ptrace_request>(req), tid_, reinterpret_cast<void*>(addr),
               reinterpret_cast<void*>(data)) == 0)
    return Op::kDone;
  if (errno != ESRCH) spdlog::debug("ptrace {} {}: {}", what, tid_, strerror(errno));
  return Op::kGone;
}

Op Attachment::interrupt() {
  return request(PTRACE_INTERRUPT, 0, 0, "interrupt");
}

Op Attachment::resume(Resume how, int sig) {
  switch (how) {
    case Resume::kSyscall:
      return request(PTRACE_SYSCALL, 0, static_cast<unsigned long>(sig), "syscall");
    case Resume::kListen:
      return request(PTRACE_LISTEN, 0, 0, "listen");
    case Resume::kCont:
    default:
      return request(PTRACE_CONT, 0, static_cast<unsigned long>(sig), "cont");
  }
}

Op Attachment::detach(int sig) {
  Op r = request(PTRACE_DETACH, 0, static_cast<unsigned long>(sig), "detach");
  tid_ = 0;
  return r;
}

Op Attachment::event_msg(unsigned long* msg) {
  return request(PTRACE_GETEVENTMSG, 0, reinterpret_cast<unsigned long>(msg), "geteventmsg");
}

Op Attachment::regs(user_regs_struct* out) {
  return request(PTRACE_GETREGS, 0, reinterpret_cast<unsigned long>(out), "getregs");
}

Op Attachment::set_reg(size_t offset, uint64_t value) {
  return request(PTRACE_POKEUSER, offset, static_cast<unsigned long>(value), "pokeuser");
}

size_t Attachment::syscall_info(__ptrace_syscall_info* out) {
  if (tid_ <= 0) return 0;
  long n = ::ptrace(PTRACE_GET_SYSCALL_INFO, tid_, reinterpret_cast<void*>(sizeof *out), out);
  if (n > 0) return static_cast<size_t>(n);
  if (n < 0 && errno != ESRCH) spdlog::debug("ptrace syscall_info {}: {}", tid_, strerror(errno));
  return 0;
}

StopResult Attachment::wait_stop(int timeout_ms, bool eager) {
  StopResult r;
  long start = monotonic_ms();
  long deadline = start + timeout_ms;
  for (int spins = 0;; ++spins) {
    int status = 0;
    pid_t got = ::waitpid(tid_, &status, __WALL | WNOHANG);
    if (got < 0) return r;  // ECHILD: not ours any more (exited and reaped): kGone
    if (got == tid_) {
      WaitStatus ws(status);
      if (ws.type() == WaitStatus::Type::kContinued) continue;
      return stop_result(ws);
    }
    if (monotonic_ms() >= deadline) {
      r.kind = StopKind::kTimeout;
      return r;
    }
    // Stops usually land within microseconds: spin briefly, then sleep.
    // Eager (a one-shot stack dump): a sleeping thread's stop takes tens of
    // microseconds (a wakeup on another CPU), and every microsecond we
    // oversleep it stays stopped, so yield-poll for the first 2 ms. Not for
    // the sampler: at 999 Hz the yielding cost the target 5% more (bench).
    if (spins < (eager ? 20 : 50)) continue;
    if (eager && monotonic_ms() - start < kYieldPollMs)
      ::sched_yield();
    else
      ::usleep(200);
  }
}

StopResult Attachment::stop(int timeout_ms, bool eager) {
  if (interrupt() == Op::kGone) return StopResult{};
  return wait_stop(timeout_ms, eager);
}

Op Attachment::resume(const StopResult& st) {
  if (st.kind == StopKind::kSignal) return resume(Resume::kCont, st.signal);
  // Stopped before we came: keep it stopped but let SIGCONT work.
  if (st.group_stop) return resume(Resume::kListen);
  return resume(Resume::kCont);
}

}  // namespace sonde::ptrace
