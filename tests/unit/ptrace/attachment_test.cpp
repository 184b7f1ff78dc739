// The ptrace core on real children: wait statuses the kernel really gives,
// the attachment's RAII detach, and the ESRCH contract ("gone", never an
// error) on a task that died.
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "sonde/common/io.h"
#include "sonde/proc/thread.h"
#include "sonde/ptrace/attachment.h"
#include "sonde/ptrace/wait_status.h"

namespace sonde::ptrace {
namespace {

// A forked child that sleeps in short naps (a syscall every millisecond),
// or forks once first. Killed and reaped on destruction.
class Child {
 public:
  enum class Does { kNap, kForkThenNap };
  explicit Child(Does what = Does::kNap) {
    pid_ = ::fork();
    if (pid_ == 0) {
      if (what == Does::kForkThenNap) {
        ::usleep(50000);  // time for the test to seize us first
        if (::fork() == 0) ::_exit(0);
      }
      for (;;) ::usleep(1000);
    }
  }
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st;
    while (::waitpid(pid_, &st, __WALL) == pid_ && !WIFEXITED(st) && !WIFSIGNALED(st)) {
    }
  }
  pid_t pid() const { return pid_; }
  // Its next wait status (blocking); the raw value.
  int next_status() {
    int st = 0;
    EXPECT_EQ(::waitpid(pid_, &st, __WALL), pid_);
    return st;
  }
  void reaped() { pid_ = -1; }

 private:
  pid_t pid_ = -1;
};

int tracer_pid(pid_t pid) {
  auto s = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!s) return -1;
  auto at = s->find("TracerPid:");
  return at == std::string::npos ? -1 : std::atoi(s->c_str() + at + 10);
}

bool eventually(const std::function<bool()>& f, int ms = 2000) {
  for (int i = 0; i < ms / 5; ++i) {
    if (f()) return true;
    ::usleep(5000);
  }
  return f();
}

TEST(WaitStatus, ExitAndKillFromRealChildren) {
  pid_t p = ::fork();
  if (p == 0) ::_exit(3);
  int st = 0;
  ASSERT_EQ(::waitpid(p, &st, 0), p);
  WaitStatus ex(st);
  EXPECT_EQ(ex.type(), WaitStatus::Type::kExited);
  EXPECT_TRUE(ex.gone());
  EXPECT_FALSE(ex.stopped());
  EXPECT_EQ(ex.exit_code(), 3);
  EXPECT_EQ(ex.term_signal(), 0);

  Child c;
  ::kill(c.pid(), SIGKILL);
  WaitStatus k(c.next_status());
  c.reaped();
  EXPECT_EQ(k.type(), WaitStatus::Type::kKilled);
  EXPECT_EQ(k.term_signal(), SIGKILL);
  EXPECT_EQ(k.exit_code(), -1);
}

TEST(WaitStatus, PtraceStopsFromARealTracee) {
  Child c;
  auto att = Attachment::seize(c.pid(), c.pid(), PTRACE_O_TRACESYSGOOD);
  ASSERT_TRUE(att.ok()) << att.error().describe();

  // Our interrupt: an event stop (PTRACE_EVENT_STOP) carrying SIGTRAP.
  ASSERT_EQ(att->interrupt(), Op::kDone);
  WaitStatus in(c.next_status());
  EXPECT_EQ(in.type(), WaitStatus::Type::kEventStop);
  EXPECT_EQ(in.ptrace_event(), PTRACE_EVENT_STOP);
  EXPECT_EQ(in.stop_signal(), SIGTRAP);
  EXPECT_EQ(in.pending_signal(), 0);

  // PTRACE_SYSCALL: the next stop is a syscall-stop (SIGTRAP|0x80).
  ASSERT_EQ(att->resume(Resume::kSyscall), Op::kDone);
  WaitStatus sc(c.next_status());
  EXPECT_EQ(sc.type(), WaitStatus::Type::kSyscallStop);
  EXPECT_EQ(sc.stop_signal(), SIGTRAP);
  EXPECT_EQ(sc.ptrace_event(), 0);
  __ptrace_syscall_info info{};
  EXPECT_GT(att->syscall_info(&info), 0u);

  // A signal sent to it: a signal-delivery-stop, the signal to hand back.
  ASSERT_EQ(att->resume(Resume::kCont), Op::kDone);
  ::kill(c.pid(), SIGUSR1);
  WaitStatus sig(c.next_status());
  EXPECT_EQ(sig.type(), WaitStatus::Type::kSignalStop);
  EXPECT_EQ(sig.stop_signal(), SIGUSR1);
  EXPECT_EQ(sig.pending_signal(), SIGUSR1);
  StopResult sr = stop_result(sig);
  EXPECT_EQ(sr.kind, StopKind::kSignal);
  EXPECT_EQ(sr.signal, SIGUSR1);

  // SIGSTOP: its delivery-stop, then (delivered) the group-stop.
  ASSERT_EQ(att->resume(Resume::kCont), Op::kDone);  // SIGUSR1 dropped: the child lives on
  ::kill(c.pid(), SIGSTOP);
  WaitStatus del(c.next_status());
  EXPECT_EQ(del.type(), WaitStatus::Type::kSignalStop);
  EXPECT_EQ(del.stop_signal(), SIGSTOP);
  ASSERT_EQ(att->resume(Resume::kCont, SIGSTOP), Op::kDone);
  WaitStatus group(c.next_status());
  EXPECT_EQ(group.type(), WaitStatus::Type::kGroupStop);
  EXPECT_EQ(group.ptrace_event(), PTRACE_EVENT_STOP);
  EXPECT_EQ(group.stop_signal(), SIGSTOP);
  EXPECT_TRUE(stop_result(group).group_stop);
  EXPECT_EQ(att->detach(), Op::kDone);
  ::kill(c.pid(), SIGCONT);
}

TEST(WaitStatus, ForkEventFromARealTracee) {
  Child c(Child::Does::kForkThenNap);
  auto att = Attachment::seize(c.pid(), c.pid(), PTRACE_O_TRACEFORK);
  ASSERT_TRUE(att.ok()) << att.error().describe();
  WaitStatus st(c.next_status());
  EXPECT_EQ(st.type(), WaitStatus::Type::kEventStop);
  EXPECT_EQ(st.ptrace_event(), PTRACE_EVENT_FORK);
  EXPECT_EQ(st.stop_signal(), SIGTRAP);
  unsigned long grandchild = 0;
  ASSERT_EQ(att->event_msg(&grandchild), Op::kDone);
  ASSERT_GT(grandchild, 0u);
  // The kernel attached the new child to us: adopt it, let it go on.
  Attachment gc = Attachment::adopt(static_cast<pid_t>(grandchild));
  int raw = 0;
  ASSERT_EQ(::waitpid(static_cast<pid_t>(grandchild), &raw, __WALL),
            static_cast<pid_t>(grandchild));
  EXPECT_EQ(WaitStatus(raw).ptrace_event(), PTRACE_EVENT_STOP);  // its first stop
  EXPECT_EQ(gc.resume(Resume::kCont), Op::kDone);
  ASSERT_EQ(::waitpid(static_cast<pid_t>(grandchild), &raw, __WALL),
            static_cast<pid_t>(grandchild));
  EXPECT_EQ(WaitStatus(raw).type(), WaitStatus::Type::kExited);
  gc.forget();
  EXPECT_EQ(att->resume(Resume::kCont), Op::kDone);
}

// The destructor lets a running task go: no tracer, not stopped, alive.
TEST(Attachment, DestructorDetachesAndLeavesTheTaskRunning) {
  Child c;
  {
    auto att = Attachment::seize(c.pid(), c.pid());
    ASSERT_TRUE(att.ok()) << att.error().describe();
    EXPECT_EQ(tracer_pid(c.pid()), ::getpid());
    Attachment moved = std::move(*att);  // move-only: the moved-from one owns nothing
    EXPECT_FALSE(att->attached());
    EXPECT_EQ(moved.tid(), c.pid());
  }
  EXPECT_EQ(tracer_pid(c.pid()), 0);
  EXPECT_TRUE(eventually([&] {
    char s = proc::thread_state(c.pid(), c.pid());
    return s == 'S' || s == 'R';
  }));
  int st;
  EXPECT_EQ(::waitpid(c.pid(), &st, WNOHANG), 0) << "the child ended";
}

// The same from one of our stops.
TEST(Attachment, DestructorDetachesFromAStop) {
  Child c;
  {
    auto att = Attachment::seize(c.pid(), c.pid());
    ASSERT_TRUE(att.ok()) << att.error().describe();
    StopResult sr = att->stop(1000);
    ASSERT_EQ(sr.kind, StopKind::kStopped);
    EXPECT_EQ(proc::thread_state(c.pid(), c.pid()), 't');
  }
  EXPECT_EQ(tracer_pid(c.pid()), 0);
  EXPECT_TRUE(eventually([&] { return proc::thread_state(c.pid(), c.pid()) != 't'; }));
  int st;
  EXPECT_EQ(::waitpid(c.pid(), &st, WNOHANG), 0) << "the child ended";
}

// A tracee that died: every request says kGone, none is an error, and a
// seize of the reaped pid is errc::kNotFound (what callers show as "exited").
TEST(Attachment, EsrchOnADeadTaskIsGone) {
  Child c;
  pid_t pid = c.pid();
  auto att = Attachment::seize(pid, pid);
  ASSERT_TRUE(att.ok()) << att.error().describe();
  ::kill(pid, SIGKILL);
  WaitStatus last(c.next_status());
  c.reaped();
  ASSERT_TRUE(last.gone());
  EXPECT_EQ(att->interrupt(), Op::kGone);
  EXPECT_EQ(att->resume(Resume::kSyscall), Op::kGone);
  user_regs_struct u{};
  EXPECT_EQ(att->regs(&u), Op::kGone);
  unsigned long msg = 0;
  EXPECT_EQ(att->event_msg(&msg), Op::kGone);
  EXPECT_EQ(att->stop(10).kind, StopKind::kGone);
  EXPECT_EQ(att->detach(), Op::kGone);
  EXPECT_FALSE(att->attached());

  auto again = Attachment::seize(pid, pid);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, errc::kNotFound);
}

// A task that is alive but not in a stop: ESRCH too, and also just kGone.
TEST(Attachment, RequestOutsideAStopIsGoneNotAnError) {
  Child c;
  auto att = Attachment::seize(c.pid(), c.pid());
  ASSERT_TRUE(att.ok()) << att.error().describe();
  user_regs_struct u{};
  EXPECT_EQ(att->regs(&u), Op::kGone);  // running: GETREGS needs a stop
  EXPECT_EQ(att->resume(Resume::kCont), Op::kGone);
  EXPECT_TRUE(att->attached());  // still ours: the destructor lets it go
}

}  // namespace
}  // namespace sonde::ptrace
