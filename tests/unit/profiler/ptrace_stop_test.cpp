// The give-up path of the ptrace stop (issue 15, point 6): a thread that
// does not report its stop in time is let go at once, never left to stop
// later with nobody to resume it. The target is tests/targets/vfork_sleeper:
// its only thread waits for its vfork child (uninterruptible, state D) for
// 1.5 s, then sleeps in pause() (state S).
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "sonde/common/io.h"
#include "sonde/proc/thread.h"
#include "sonde/profiler/stack.h"
#include "sonde/profiler/symbolizer.h"
#include "sonde/ptrace/attachment.h"
#include "sonde/ptrace/tracer_thread.h"
#include "support/tracee.h"

namespace sonde::profiler {
namespace {

using proc::thread_state;
using ptrace::Attachment;
using ptrace::run_on_tracer_thread;
using ptrace::StopKind;
using ptrace::StopResult;
using sonde::testing::Tracee;
using sonde::testing::wait_until;

const std::string kVforkSleeper = std::string(SONDE_TARGETS_DIR) + "/vfork_sleeper";

// TracerPid from /proc/PID/status (-1 when unreadable).
int tracer_of(pid_t pid) {
  auto s = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!s) return -1;
  auto at = s->find("TracerPid:");
  if (at == std::string::npos) return -1;
  return std::atoi(s->c_str() + at + 10);
}

// Starts the target and waits until its thread is in the vfork wait.
std::unique_ptr<Tracee> start_in_d_state(int ms) {
  auto t = Tracee::start({kVforkSleeper, std::to_string(ms)});
  if (!t) return nullptr;
  auto ready = t->next_line(5000);
  if (!ready || *ready != "READY") {
    ADD_FAILURE() << "vfork_sleeper did not print READY";
    return nullptr;
  }
  pid_t pid = t->pid();
  if (!wait_until([&] { return thread_state(pid, pid) == 'D'; }, 1000)) {
    ADD_FAILURE() << "vfork_sleeper is not in state D but " << thread_state(pid, pid);
    return nullptr;
  }
  return t;
}

class PtraceStopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kVforkSleeper.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << kVforkSleeper;
  }
};

// What the fix is for, shown on the kernel itself: a tracer thread that
// gave up on a stop and lives on leaves the thread stopped ('t') the moment
// its uninterruptible sleep ends. Cleaned up here by hand.
TEST_F(PtraceStopTest, KernelFreezesAGivenUpThreadWhileItsTracerLives) {
  auto t = start_in_d_state(500);
  ASSERT_TRUE(t);
  pid_t pid = t->pid();
  auto att = Attachment::seize(pid, pid);
  ASSERT_TRUE(att.ok());
  StopResult sr = att->stop(50);
  EXPECT_EQ(sr.kind, StopKind::kTimeout);
  EXPECT_TRUE(wait_until([&] { return thread_state(pid, pid) == 't'; }, 3000))
      << "state " << thread_state(pid, pid);
  EXPECT_EQ(tracer_of(pid), ::getpid());
  sr = att->wait_stop(1000);
  ASSERT_EQ(sr.kind, StopKind::kStopped);
  EXPECT_EQ(att->detach(sr), ptrace::Op::kDone);
  EXPECT_TRUE(wait_until([&] { return tracer_of(pid) == 0; }, 1000));
}

// The same give-up inside run_on_tracer_thread: when it returns the thread
// is no longer ours, and when its sleep ends it runs on (state S), untraced.
TEST_F(PtraceStopTest, GivenUpThreadIsReleasedWhenTheTracerThreadEnds) {
  auto t = start_in_d_state(800);
  ASSERT_TRUE(t);
  pid_t pid = t->pid();
  StopKind kind = StopKind::kGone;
  auto st = run_on_tracer_thread([&]() -> Status {
    auto att = Attachment::seize(pid, pid);
    if (!att) return att.error();
    kind = att->stop(50).kind;
    att->abandon();  // no stop to detach from: the thread's end lets it go
    return ok_status();
  });
  ASSERT_TRUE(st.ok()) << st.error().describe();
  EXPECT_EQ(kind, StopKind::kTimeout);
  // The kernel unlinks the tracees of an exiting thread just after the
  // join returns (exit_notify follows the futex wake pthread_join waits on).
  EXPECT_TRUE(wait_until([&] { return tracer_of(pid) == 0; }, 1000))
      << "TracerPid " << tracer_of(pid);
  // Past the vfork wait: in pause(), not stopped.
  EXPECT_TRUE(wait_until([&] { return thread_state(pid, pid) == 'S'; }, 3000))
      << "state " << thread_state(pid, pid);
  ::usleep(300000);
  char s = thread_state(pid, pid);
  EXPECT_TRUE(s != 't' && s != 'T') << "state " << s;
  EXPECT_EQ(tracer_of(pid), 0);
}

TEST_F(PtraceStopTest, ErrorsAndExceptionsComeBackFromTheTracerThread) {
  auto st = run_on_tracer_thread([]() -> Status { return Error{errc::kIo, "from inside", {}}; });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "from inside");
  EXPECT_THROW((void)run_on_tracer_thread([]() -> Status { throw std::runtime_error("x"); }),
               std::runtime_error);
}

// A whole stack dump with a stop deadline no thread can meet (0 ms): every
// thread misses it, is taken late between the others' captures or let go
// when the capture thread ends. Afterwards no thread is ours or stopped.
TEST_F(PtraceStopTest, StackDumpWithMissedDeadlinesLeavesNothingAttached) {
  const std::string loop = std::string(SONDE_TARGETS_DIR) + "/syscall_loop";
  if (::access(loop.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << loop;
  auto t = Tracee::start({loop, "sleeper", "30"});
  ASSERT_TRUE(t);
  auto ready = t->next_line(5000);
  ASSERT_TRUE(ready && *ready == "READY");
  pid_t pid = t->pid();
  Symbolizer sym;
  StackOptions o;
  o.stop_timeout_ms = 0;
  for (int round = 0; round < 5; ++round) {
    auto d = dump_stacks(pid, o, sym);
    ASSERT_TRUE(d.ok()) << d.error().describe();
    ASSERT_EQ(d->threads.size(), 1u);
    EXPECT_TRUE(wait_until([&] { return tracer_of(pid) == 0; }, 1000))
        << "TracerPid " << tracer_of(pid);
    ::usleep(150000);  // past a tick: a pending stop would have landed
    char s = thread_state(pid, pid);
    EXPECT_TRUE(s != 't' && s != 'T') << "state " << s;
    EXPECT_EQ(tracer_of(pid), 0);
  }
  // And it still ticks.
  auto tick = t->next_line(2000);
  EXPECT_TRUE(tick && tick->rfind("TICK", 0) == 0) << tick.value_or("<nothing>");
}

}  // namespace
}  // namespace sonde::profiler
