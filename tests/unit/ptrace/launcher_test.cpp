// The one launcher: the command starts clean whatever the launcher's own
// state, is held until released, gets its seccomp filter last, and an exec
// failure comes back as its errno.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "sonde/common/io.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/thread.h"
#include "sonde/ptrace/launcher.h"

namespace sonde::ptrace {
namespace {

const std::string kChildState = std::string(SONDE_TARGETS_DIR) + "/child_state";
const std::string kClean = "SigBlk=0000000000000000 SigIgn=0000000000000000 fds=0,1,2\n";

// The launcher's own state made dirty: SIGPIPE ignored, SIGUSR2 blocked, an
// fd open without close-on-exec. Put back on destruction.
class DirtyState {
 public:
  DirtyState() {
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old_pipe_);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    ::sigprocmask(SIG_BLOCK, &m, &old_mask_);
    fd_ = ::open("/dev/null", O_RDONLY);
  }
  ~DirtyState() {
    ::close(fd_);
    ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
    ::sigaction(SIGPIPE, &old_pipe_, nullptr);
  }

 private:
  struct sigaction old_pipe_ {};
  sigset_t old_mask_;
  int fd_ = -1;
};

std::string temp_path(const char* name) {
  return ::testing::TempDir() + name + std::to_string(::getpid());
}

int reap(pid_t pid) {
  int st = -1;
  ::waitpid(pid, &st, 0);
  return st;
}

// Releases a launched child_state and checks what it reported: ran, exited
// 0, and started with nothing of ours.
void expect_clean_run(Launched& l, const std::string& out) {
  ASSERT_TRUE(l.release().ok());
  EXPECT_EQ(l.exec_errno(), 0);
  int st = reap(l.pid());
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  auto report = read_file(out);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(*report, kClean);
  ::unlink(out.c_str());
}

class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kChildState.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << kChildState;
  }
};

TEST_F(LauncherTest, GatedChildStartsCleanAfterRelease) {
  std::string out = temp_path("launch_gate");
  DirtyState dirty;
  LaunchOptions o;
  o.argv = {kChildState, out};
  o.hold = LaunchOptions::Hold::kGate;
  auto l = launch(o);
  ASSERT_TRUE(l.ok()) << l.error().describe();
  ::usleep(100000);
  EXPECT_FALSE(read_file(out).ok()) << "ran before release";
  expect_clean_run(*l, out);
}

TEST_F(LauncherTest, StoppedChildWaitsInItsStopAndStartsClean) {
  std::string out = temp_path("launch_stop");
  DirtyState dirty;
  LaunchOptions o;
  o.argv = {kChildState, out};
  auto l = launch(o);
  ASSERT_TRUE(l.ok()) << l.error().describe();
  ASSERT_TRUE(l->wait_stopped().ok());
  EXPECT_EQ(proc::thread_state(l->pid(), l->pid()), 'T');
  expect_clean_run(*l, out);
}

TEST_F(LauncherTest, ExecFailureComesBackAsItsErrno) {
  LaunchOptions o;
  o.argv = {"/nonexistent/sonde-no-such-command"};
  o.hold = LaunchOptions::Hold::kGate;
  auto l = launch(o);
  ASSERT_TRUE(l.ok()) << l.error().describe();
  ASSERT_TRUE(l->release().ok());
  EXPECT_EQ(l->exec_errno(), ENOENT);
  int st = reap(l->pid());
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 127) << st;
}

// The filter is in place in the command (it survives exec), with no_new_privs.
TEST_F(LauncherTest, SeccompFilterIsInstalledBeforeExec) {
  LaunchOptions o;
  o.argv = {"sleep", "5"};
  o.hold = LaunchOptions::Hold::kGate;
  o.seccomp = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  auto l = launch(o);
  ASSERT_TRUE(l.ok()) << l.error().describe();
  ASSERT_TRUE(l->release().ok());
  ASSERT_EQ(l->exec_errno(), 0);
  auto status = read_file("/proc/" + std::to_string(l->pid()) + "/status");
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->find("Seccomp:\t2"), std::string::npos) << *status;
  EXPECT_NE(status->find("NoNewPrivs:\t1"), std::string::npos);
  ::kill(l->pid(), SIGKILL);
  reap(l->pid());
}

}  // namespace
}  // namespace sonde::ptrace
