// Launched commands start clean (issue 15, point 6): every signal at its
// default, none blocked, and only fds 0, 1 and 2 open, whatever the agent
// ignores (SIGPIPE), blocks (SIGHUP, SIGINT, SIGTERM for its signalfd) or
// holds open (the protocol, perf rings, pipes). Checked with
// tests/targets/child_state, which writes its SigBlk, SigIgn and fd list to
// a file, launched three ways: `sonde trace local -- CMD`, `sonde profile
// local -- CMD` (both through a real agent), and spawn() from a process
// that ignores, blocks and leaks on purpose.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"
#include "support/sshd_fixture.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kChildState = std::string(SONDE_TARGETS_DIR) + "/child_state";
const std::string kClean = "SigBlk=0000000000000000 SigIgn=0000000000000000 fds=0,1,2\n";

class CleanChildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kChildState.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << kChildState;
    char tmpl[] = "/tmp/sonde-clean-child-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    out_ = dir_ + "/state";
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  std::string report() {
    auto r = read_file(out_, 4096);
    return r ? *r : "<no report: " + r.error().message + ">";
  }
  std::string dir_, out_;
};

TEST_F(CleanChildTest, TraceLaunchedCommandStartsClean) {
  auto r = run_sonde({"trace", "local", "-c", "--", kChildState, out_}, {}, 30000);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(report(), kClean);
}

TEST_F(CleanChildTest, ProfileLaunchedCommandStartsClean) {
  for (const std::string sampler : {"perf", "ptrace"}) {
    SCOPED_TRACE(sampler);
    ::unlink(out_.c_str());
    auto r = run_sonde({"profile", "local", "--sampler", sampler, "-o", dir_ + "/profile.svg",
                        "--", kChildState, out_},
                       {}, 30000);
    if (sampler == "perf" && r.exit_code != 0 &&
        r.err.find("perf_event") != std::string::npos)
      continue;  // perf_event_open not allowed here: the ptrace run covers launch
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("sampler: " + std::string(sampler == "perf" ? "perf_event" : "ptrace")),
              std::string::npos)
        << r.out;
    EXPECT_EQ(report(), kClean);
  }
}

// The caller's state on purpose: SIGPIPE ignored, shutdown signals blocked,
// an fd without close-on-exec. None of it reaches the child.
TEST_F(CleanChildTest, SpawnedCommandStartsClean) {
  struct sigaction ign {}, old_pipe {}, old_usr {};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ign, &old_pipe), 0);
  ASSERT_EQ(::sigaction(SIGUSR1, &ign, &old_usr), 0);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);
  int leak = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC
  ASSERT_GE(leak, 3);

  auto r = run_capture({kChildState, out_}, 10000);

  ::close(leak);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::sigaction(SIGUSR1, &old_usr, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(report(), kClean);
}

// reset_child_for_exec in a forked child: kept fds stay, the rest go.
TEST_F(CleanChildTest, ResetKeepsOnlyTheFdsAskedFor) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  int leak1 = ::open("/dev/null", O_RDONLY), leak2 = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leak2, 3);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    reset_child_for_exec(&p[1], 1);
    char verdict = ::fcntl(leak1, F_GETFD) < 0 && ::fcntl(leak2, F_GETFD) < 0 &&
                           ::fcntl(p[0], F_GETFD) < 0 && ::fcntl(p[1], F_GETFD) >= 0
                       ? 'y'
                       : 'n';
    (void)!::write(p[1], &verdict, 1);
    ::_exit(0);
  }
  ::close(p[1]);
  ::close(leak1);
  ::close(leak2);
  char got = 0;
  EXPECT_EQ(::read(p[0], &got, 1), 1);
  EXPECT_EQ(got, 'y');
  ::close(p[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
}

}  // namespace
}  // namespace sonde::testing
