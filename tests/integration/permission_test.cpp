// A process the agent may not read or trace (root's, inspected by another
// user): every command says so the same way, why, and that --sudo helps.
// stack, trace and profile fail with `ptrace: permission denied on pid N:
// it runs as root (uid 0), the agent as ...`; inspect gives what it could
// read, and says the fds could not be read and why, never an empty table.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "support/contains.h"
#include "support/other_user.h"
#include "support/run.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

const std::string kSonde = std::string(SONDE_BIN_DIR) + "/sonde";

// A root process with open files (this test runs as root), and the second
// user to look at it from.
class OtherUsersProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    auto u = other_user(&why);
    if (!u) GTEST_SKIP() << why;
    user_ = *u;
    std::string ready;
    holder_ = start_tracee({target_path("fd_holder"), "/etc/hostname"}, &ready);
    ASSERT_TRUE(holder_);
    ASSERT_EQ(ready.rfind("READY ", 0), 0u) << ready;
    pid_ = std::to_string(holder_->pid());
  }

  OtherUser user_;
  std::unique_ptr<Tracee> holder_;
  std::string pid_;
};

// The refusal as stack, trace and profile all say it, for `cmd`.
void expect_refused(const RunResult& r, const std::string& cmd, const std::string& pid,
                    const OtherUser& u) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "sonde " + cmd + ": error: ptrace: permission denied on pid " +
                                     pid + ": it runs as root (uid 0), the agent as " + u.name +
                                     " (uid " + std::to_string(u.uid) + ")"))
      << r.output;
  EXPECT_TRUE(
      contains(r.output, "\n  hint: inspect processes of your own user, or rerun with --sudo"))
      << r.output;
}

TEST_F(OtherUsersProcess, StackSaysWhyAndSuggestsSudo) {
  auto r = run_as(user_, {kSonde, "stack", "local", "-p", pid_}, 30000);
  expect_refused(r, "stack", pid_, user_);
  // The refusal, not a file it happened to fail on.
  EXPECT_FALSE(contains(r.output, "/maps")) << r.output;
}

// trace and profile said it first; stack says it the same way.
TEST_F(OtherUsersProcess, TraceAndProfileSayItTheSameWay) {
  auto t = run_as(user_, {kSonde, "trace", "local", "-p", pid_, "--duration", "1s"}, 30000);
  expect_refused(t, "trace", pid_, user_);
  auto p = run_as(user_,
                  {kSonde, "profile", "local", "-p", pid_, "--duration", "1s", "--sampler",
                   "ptrace", "--format", "folded", "-o", "/dev/null"},
                  30000);
  expect_refused(p, "profile", pid_, user_);
}

TEST_F(OtherUsersProcess, InspectSaysTheFdsCouldNotBeReadAndWhy) {
  auto r = run_as(user_, {kSonde, "inspect", "local", "-p", pid_}, 30000);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // What anyone may read is there.
  EXPECT_TRUE(contains(r.output, "pid " + pid_ + "  fd_holder")) << r.output;
  EXPECT_TRUE(contains(r.output, "Max open files")) << r.output;
  // The fds: not an empty table, but why there is none.
  EXPECT_FALSE(contains(r.output, "open files (0)")) << r.output;
  EXPECT_FALSE(contains(r.output, "FD  KIND")) << r.output;
  const std::string why = "permission denied on pid " + pid_ + ": it runs as root (uid 0), the " +
                          "agent as " + user_.name + " (uid " + std::to_string(user_.uid) + ")";
  EXPECT_TRUE(contains(r.output, "open files: could not be read: " + why)) << r.output;
  EXPECT_TRUE(contains(r.output, "hint: inspect processes of your own user, or rerun with --sudo"))
      << r.output;
  // And once where errors are said, naming what was not read.
  auto at = r.output.find("sonde inspect: warning: " + why + "; not read: ");
  ASSERT_NE(at, std::string::npos) << r.output;
  std::string warning = r.output.substr(at, r.output.find('\n', at) - at);
  EXPECT_TRUE(contains(warning, "open files")) << warning;
  EXPECT_TRUE(contains(r.output.substr(at), "\n  hint: ")) << r.output;
}

TEST_F(OtherUsersProcess, InspectJsonHasNoFdListButWhy) {
  // stdout alone: the one JSON document.
  auto r = run_as(
      user_,
      {"/bin/sh", "-c", "exec \"$0\" --json inspect local -p \"$1\" 2>/dev/null", kSonde, pid_},
      30000);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json j = json::parse(r.output, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.output;
  EXPECT_FALSE(j.contains("fds")) << "an unread fd list is no list: " << r.output;
  EXPECT_TRUE(contains(j.value("fds_error", ""), "permission denied on pid " + pid_)) << r.output;
  ASSERT_TRUE(j["denied"].is_object()) << r.output;
  EXPECT_TRUE(contains(j["denied"].value("hint", ""), "--sudo")) << r.output;
  bool fds_named = false;
  for (const auto& p : j["denied"]["parts"]) fds_named |= p == "open files";
  EXPECT_TRUE(fds_named) << r.output;
}

// The agent's own user: everything is read, no refusal is said.
TEST_F(OtherUsersProcess, InspectOfOnesOwnProcessSaysNothingOfPermission) {
  auto r = run_sonde({"inspect", "local", "-p", pid_});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "/etc/hostname")) << r.out;
  EXPECT_FALSE(contains(r.out, "permission denied")) << r.out;
  EXPECT_FALSE(contains(r.err, "warning")) << r.err;
}

}  // namespace
}  // namespace sonde::testing
