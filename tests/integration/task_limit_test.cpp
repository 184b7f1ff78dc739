// A host that gives no thread or process: the agent's user at its process
// limit (RLIMIT_NPROC, `ulimit -u`), as on a production host where a runaway
// service of the same user holds them all. The agent must answer with an
// error that says so, never abort (which would leave tracees stopped), and a
// launch must say why it could not fork. The limit is set with prlimit on a
// user of this test's own, so no other test's processes count against it.
#include <dirent.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "support/contains.h"
#include "support/other_user.h"
#include "support/proc.h"
#include "support/run.h"

namespace sonde::testing {
namespace {

const std::string kSonde = std::string(SONDE_BIN_DIR) + "/sonde";

class TaskLimit : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    auto u = other_user(&why, "sonde-nproc");
    if (!u) GTEST_SKIP() << why;
    if (!have_program("prlimit")) GTEST_SKIP() << "no prlimit (util-linux)";
    user_ = *u;
    // The agent's undo watchdog is double-forked away from it: as the
    // subreaper, this test gets it when it is orphaned and reaps it at once,
    // so no zombie of an earlier run holds a slot of the limit.
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  }
  void TearDown() override {
    stop_target();
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
  // sonde ARGS as the test's user, with at most `nproc` processes and
  // threads of that user on the host.
  RunResult sonde_limited(int nproc, std::vector<std::string> args) {
    // Under a sanitizer, LeakSanitizer's exit check clones a task, which
    // the limit refuses; what is tested here is sonde's own answer.
    const char* asan = std::getenv("ASAN_OPTIONS");
    std::string asan_options = "ASAN_OPTIONS=";
    if (asan && *asan) asan_options += std::string(asan) + ":";
    asan_options += "detect_leaks=0";
    std::vector<std::string> argv = {"/usr/bin/env", asan_options, "/usr/bin/prlimit",
                                     "--nproc=" + std::to_string(nproc), kSonde};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string left = left_behind(target_);
    if (!left.empty()) ADD_FAILURE() << "the user's tasks before the run:\n" << left;
    return run_as(user_, argv, 30000);
  }
  // The user's processes, zombies too ("PID (COMM) STATE" lines), but for
  // `keep`.
  std::string tasks(pid_t keep = 0) const {
    std::string found;
    DIR* d = ::opendir("/proc");
    if (!d) return "no /proc";
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
      struct stat st {};
      std::string dir = std::string("/proc/") + e->d_name;
      if (::stat(dir.c_str(), &st) != 0 || st.st_uid != user_.uid) continue;
      if (keep && std::atoi(e->d_name) == keep) continue;
      std::ifstream in(dir + "/stat");
      std::string line;
      std::getline(in, line);
      size_t close = line.rfind(')');
      if (close == std::string::npos || close + 2 >= line.size()) continue;
      found += line.substr(0, close + 3) + "\n";
    }
    ::closedir(d);
    return found;
  }
  // The user's processes, zombies included, still there 2 s after sonde
  // ended, or "": the agent and its watchdog go with the session.
  std::string left_behind(pid_t keep = 0) const {
    std::string left;
    for (int tries = 0; tries < 40; ++tries) {
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      if ((left = tasks(keep)).empty()) break;
      ::usleep(50000);
    }
    return left;
  }
  // A process of the user's, to attach to: sleep, started as the user.
  pid_t start_target() {
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(user_.gid) != 0 || ::setuid(user_.uid) != 0)
        ::_exit(126);
      ::execl("/bin/sleep", "sleep", "120", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    target_ = pid;
    return pid;
  }
  void stop_target() {
    if (target_ <= 0) return;
    ::kill(target_, SIGKILL);
    ::waitpid(target_, nullptr, 0);
    target_ = 0;
  }
  OtherUser user_;
  pid_t target_ = 0;
};

void expect_no_task_hint(const RunResult& r) {
  EXPECT_TRUE(contains(r.output, "Resource temporarily unavailable")) << r.output;
  EXPECT_TRUE(contains(r.output,
                       "\n  hint: the host gave no process or thread: the user is at its "
                       "process limit (`ulimit -u`)"))
      << r.output;
  EXPECT_FALSE(contains(r.output, "SIGABRT")) << r.output;
  EXPECT_FALSE(contains(r.output, "terminate called")) << r.output;
}

// Two tasks: the controller and the agent. The agent answers its hello
// (without an undo watchdog, which it says), and the request that needs a
// worker thread is refused: the host is exhausted.
TEST_F(TaskLimit, AgentWithNoThreadAnswersWithAnError) {
  auto r = sonde_limited(2, {"ps", "local"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "sonde ps: error: cannot start ps's worker thread: ")) << r.output;
  expect_no_task_hint(r);
  auto j = sonde_limited(2, {"--json", "ps", "local"});
  EXPECT_EQ(j.exit_code, 1) << j.output;
  EXPECT_TRUE(contains(j.output, "\"code\": \"exhausted\"")) << j.output;
  EXPECT_TRUE(contains(j.output, "\"errno\": 11")) << j.output;
}

// One task: the controller cannot start the agent, and says why.
TEST_F(TaskLimit, ControllerThatCannotStartTheAgentSaysWhy) {
  auto r = sonde_limited(1, {"ps", "local"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "sonde ps: error: exec ")) << r.output;
  expect_no_task_hint(r);
}

// Between none and enough: every limit from 3 up gives either the trace or
// an error naming what could not start (a thread of the trace, or the
// launched command's fork; which one depends on how fast the last request's
// tasks were reaped), never an abort, and leaves no process of the user
// behind, stopped or not. Enough tasks give the trace.
TEST_F(TaskLimit, TraceLaunchUnderEveryLimitEndsCleanly) {
  int refused = 0;
  for (int n = 3; n <= 10; ++n) {
    auto r = sonde_limited(n, {"trace", "local", "-c", "--", "/bin/true"});
    SCOPED_TRACE("nproc " + std::to_string(n));
    EXPECT_FALSE(r.timed_out) << r.output;
    if (r.exit_code == 0) {
      EXPECT_TRUE(contains(r.output, "execve")) << r.output;
    } else {
      ++refused;
      EXPECT_EQ(r.exit_code, 1) << r.output;
      expect_no_task_hint(r);
      EXPECT_TRUE(contains(r.output, "sonde trace: error: cannot start the ") ||
                  contains(r.output, "sonde trace: error: fork: "))
          << r.output;
    }
    EXPECT_EQ(left_behind(), "") << "after nproc " << n;
  }
  EXPECT_GT(refused, 0) << "no limit refused a task";
  auto ok = sonde_limited(64, {"trace", "local", "-c", "--", "/bin/true"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(contains(ok.output, "execve")) << ok.output;
}

// Attach: the target is the user's own sleep (one more of its tasks). Under
// every limit the trace is either done or refused, and the sleep is left as
// it was: not traced, not stopped.
TEST_F(TaskLimit, TraceAttachUnderEveryLimitLeavesTheTargetRunning) {
  pid_t pid = start_target();
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(wait_until([&] { return proc_state(pid) == 'S'; }, 5000)) << proc_state(pid);
  int refused = 0;
  for (int n = 4; n <= 11; ++n) {
    auto r = sonde_limited(n, {"trace", "local", "-p", std::to_string(pid), "--duration", "300ms"});
    SCOPED_TRACE("nproc " + std::to_string(n));
    EXPECT_FALSE(r.timed_out) << r.output;
    if (r.exit_code != 0) {
      ++refused;
      EXPECT_EQ(r.exit_code, 1) << r.output;
      expect_no_task_hint(r);
    }
    EXPECT_TRUE(wait_until([&] { return tracer_pid(pid) == 0 && proc_state(pid) == 'S'; }, 3000))
        << "after nproc " << n << ": TracerPid " << tracer_pid(pid) << ", state " << proc_state(pid)
        << "\n"
        << r.output;
    EXPECT_EQ(left_behind(pid), "") << "after nproc " << n;
  }
  EXPECT_GT(refused, 0) << "no limit refused a task";
}

}  // namespace
}  // namespace sonde::testing
