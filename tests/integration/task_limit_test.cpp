// A host that gives no thread or process: the agent's user at its process
// limit (RLIMIT_NPROC, `ulimit -u`), as on a production host where a runaway
// service of the same user holds them all. The agent must answer with an
// error that says so, never abort (which would leave tracees stopped), and a
// launch must say why it could not fork. The limit is set with prlimit on a
// user of this test's own, so no other test's processes count against it.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "support/contains.h"
#include "support/other_user.h"
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
  }
  // sonde ARGS as the test's user, with at most `nproc` processes and
  // threads of that user on the host.
  RunResult sonde_limited(int nproc, std::vector<std::string> args) {
    // Under a sanitizer, LeakSanitizer's exit check clones a task, which
    // the limit refuses; what is tested here is sonde's own answer.
    std::vector<std::string> argv = {"/usr/bin/env", "ASAN_OPTIONS=detect_leaks=0",
                                     "/usr/bin/prlimit", "--nproc=" + std::to_string(nproc),
                                     kSonde};
    argv.insert(argv.end(), args.begin(), args.end());
    wait_for_no_tasks();
    return run_as(user_, argv, 30000);
  }
  // The user's processes ("PID (COMM) STATE" lines), zombies too or not.
  std::string tasks(bool zombies) const {
    std::string found;
    DIR* d = ::opendir("/proc");
    if (!d) return "no /proc";
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
      struct stat st {};
      std::string dir = std::string("/proc/") + e->d_name;
      if (::stat(dir.c_str(), &st) != 0 || st.st_uid != user_.uid) continue;
      std::ifstream in(dir + "/stat");
      std::string line;
      std::getline(in, line);
      size_t close = line.rfind(')');
      if (close == std::string::npos || close + 2 >= line.size()) continue;
      if (!zombies && line[close + 2] == 'Z') continue;
      found += line.substr(0, close + 3) + "\n";
    }
    ::closedir(d);
    return found;
  }
  // The user's live processes still there 2 s after sonde ended, or "": the
  // agent and its watchdog go with the session. (The watchdog is init's
  // child: how soon init reaps it is the host's, so zombies do not count.)
  std::string left_behind() const {
    std::string left;
    for (int tries = 0; tries < 40 && !(left = tasks(false)).empty(); ++tries) ::usleep(50000);
    return left;
  }
  // Waits (up to 5 s) until not even a zombie of the user holds a slot of
  // its limit, so each run starts from none.
  void wait_for_no_tasks() const {
    for (int tries = 0; tries < 100 && !tasks(true).empty(); ++tries) ::usleep(50000);
  }
  OtherUser user_;
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
// worker thread is refused as busy.
TEST_F(TaskLimit, AgentWithNoThreadAnswersWithAnError) {
  auto r = sonde_limited(2, {"ps", "local"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "sonde ps: error: cannot start ps's worker thread: ")) << r.output;
  expect_no_task_hint(r);
  auto j = sonde_limited(2, {"--json", "ps", "local"});
  EXPECT_EQ(j.exit_code, 1) << j.output;
  EXPECT_TRUE(contains(j.output, "\"code\": \"busy\"")) << j.output;
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

}  // namespace
}  // namespace sonde::testing
