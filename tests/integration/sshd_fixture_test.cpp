// The test fixture itself, checked with OpenSSH's own client as the oracle:
// if these fail, every sonde-over-ssh test result means nothing.
#include <dirent.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/sshd_fixture.h"

namespace {

using sonde::testing::have_program;
using sonde::testing::run_cmd;
using sonde::testing::Sshd;

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Pids whose command line is exactly argv (NUL-separated in /proc).
std::vector<int> pids_with_cmdline(const std::vector<std::string>& argv) {
  std::string want;
  for (const auto& a : argv) want += a + '\0';
  std::vector<int> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    int pid = atoi(e->d_name);
    if (pid <= 0) continue;
    if (read_file("/proc/" + std::string(e->d_name) + "/cmdline") == want) out.push_back(pid);
  }
  closedir(d);
  return out;
}

// SIGKILL lands asynchronously: allow the kernel a moment to tear the process down.
bool gone_soon(const std::vector<std::string>& argv) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!pids_with_cmdline(argv).empty()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

class SshdFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("ssh")) GTEST_SKIP() << "ssh client missing: apt-get install openssh-client";
    std::string why;
    sshd_ = Sshd::start(&why);
    // A start failure other than "OpenSSH missing" was already recorded as a failure.
    if (!sshd_) GTEST_SKIP() << why;
  }

  // OpenSSH's client with the fixture's config, never prompting.
  sonde::testing::Run ssh(const std::string& command, int timeout_ms = 20000) {
    return run_cmd(
        {"ssh", "-F", sshd_->ssh_config(), "-o", "BatchMode=yes", sshd_->alias(), command},
        {{"HOME", sshd_->home()}}, timeout_ms);
  }

  std::unique_ptr<Sshd> sshd_;
};

TEST_F(SshdFixture, WritesPortAndClientConfig) {
  EXPECT_GT(sshd_->port(), 1024);
  EXPECT_EQ(read_file(sshd_->dir() + "/port"), std::to_string(sshd_->port()) + "\n");
  std::string config = read_file(sshd_->ssh_config());
  EXPECT_NE(config.find("Host sonde-test\n"), std::string::npos) << config;
  EXPECT_NE(config.find("Port " + std::to_string(sshd_->port()) + "\n"), std::string::npos)
      << config;
  std::string known = read_file(sshd_->known_hosts());
  EXPECT_EQ(known.rfind("[127.0.0.1]:" + std::to_string(sshd_->port()) + " ssh-ed25519 AAAA", 0),
            0u)
      << known;
}

TEST_F(SshdFixture, OpenSshClientRunsACommand) {
  auto r = ssh("echo ok");
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << sonde::testing::describe(r);
  EXPECT_EQ(r.out, "ok\n");
}

TEST_F(SshdFixture, UnknownHostKeyIsRejected) {
  sshd_->untrust();
  auto r = ssh("echo ok");
  EXPECT_EQ(r.exit_code, 255) << sonde::testing::describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("Host key verification failed"), std::string::npos) << r.err;
}

TEST_F(SshdFixture, ChangedHostKeyIsRejectedThenTrustRestores) {
  sshd_->trust_other();
  auto r = ssh("echo ok");
  EXPECT_EQ(r.exit_code, 255) << sonde::testing::describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("REMOTE HOST IDENTIFICATION HAS CHANGED"), std::string::npos) << r.err;

  sshd_->trust();
  auto again = ssh("echo ok");
  EXPECT_EQ(again.exit_code, 0) << sonde::testing::describe(again);
  EXPECT_EQ(again.out, "ok\n");
}

TEST_F(SshdFixture, UnauthorizedUserKeyIsRejected) {
  // Everything on the command line: the fixture's config would add the good key.
  auto r = run_cmd(
      {"ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i",
       sshd_->wrong_key(), "-o", "UserKnownHostsFile=" + sshd_->known_hosts(), "-o",
       "StrictHostKeyChecking=yes", "-p", std::to_string(sshd_->port()), "127.0.0.1", "echo ok"},
      {{"HOME", sshd_->home()}}, 20000);
  EXPECT_EQ(r.exit_code, 255) << sonde::testing::describe(r);
  EXPECT_NE(r.err.find("Permission denied (publickey)"), std::string::npos) << r.err;
}

TEST_F(SshdFixture, StopEndsOpenSessions) {
  // A distinctive duration so we find exactly our session's process.
  const std::vector<std::string> sleeper{"sleep", "47.25"};
  sonde::testing::Run session;
  std::thread t([&] { session = ssh("exec sleep 47.25", 30000); });
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pids_with_cmdline(sleeper).empty() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(pids_with_cmdline(sleeper).empty()) << "the ssh session never started";

  auto t0 = std::chrono::steady_clock::now();
  sshd_->stop();
  t.join();
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(session.timed_out);
  EXPECT_EQ(session.exit_code, 255) << sonde::testing::describe(session);
  EXPECT_LT(took, std::chrono::seconds(10));
  // The session's process is gone too (zombies aside: cmdline of a zombie is empty).
  EXPECT_TRUE(gone_soon(sleeper));

  sshd_->stop();  // idempotent
}

// --- the process runner ------------------------------------------------------

TEST(RunCmd, SeparatesStdoutStderrAndExitCode) {
  auto r = run_cmd({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);
}

TEST(RunCmd, LargeOutputOnBothStreamsDoesNotDeadlock) {
  // Far beyond a pipe buffer on each stream, stderr written second.
  auto r =
      run_cmd({"sh", "-c", "head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2"}, {}, 20000);
  EXPECT_EQ(r.exit_code, 0) << sonde::testing::describe(r);
  EXPECT_EQ(r.out.size(), 3000000u);
  EXPECT_EQ(r.err.size(), 2000000u);
}

TEST(RunCmd, FeedsStdin) {
  std::string big(1 << 20, 'x');
  big += "end\n";
  auto r = run_cmd({"cat"}, {}, 20000, big);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, big);
}

TEST(RunCmd, StdinToAChildThatDoesNotReadIsHarmless) {
  auto r = run_cmd({"true"}, {}, 20000, std::string(1 << 20, 'x'));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.timed_out);
}

TEST(RunCmd, TimeoutKillsTheProcessGroup) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_cmd({"sh", "-c", "echo started; sleep 31.75 & sleep 31.5; echo never"}, {}, 500);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.out, "started\n");
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_TRUE(gone_soon({"sleep", "31.75"})) << "background child survived";
}

TEST(RunCmd, LeftoverBackgroundProcessDoesNotHang) {
  auto t0 = std::chrono::steady_clock::now();
  // The background sleep keeps stdout open after sh exits.
  auto r = run_cmd({"sh", "-c", "sleep 3.25 & echo hi"}, {}, 20000);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_TRUE(gone_soon({"sleep", "3.25"})) << "leftover was not killed";
}

TEST(RunCmd, MissingProgramIsReported) {
  auto r = run_cmd({"/nonexistent/sonde-no-such-program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
}

TEST(RunCmd, EnvironmentDropsAgentSocketAndAppliesOverrides) {
  setenv("SSH_AUTH_SOCK", "/tmp/should-not-leak", 1);
  setenv("SONDE_TEST_KEEP", "kept", 1);
  auto r = run_cmd({"sh", "-c", "echo \"${SSH_AUTH_SOCK-unset} $SONDE_TEST_KEEP $HOME\""},
                   {{"HOME", "/tmp/fake-home"}});
  unsetenv("SSH_AUTH_SOCK");
  unsetenv("SONDE_TEST_KEEP");
  EXPECT_EQ(r.out, "unset kept /tmp/fake-home\n");
}

TEST(HaveProgram, FindsShAndSbinAndNotNonsense) {
  EXPECT_TRUE(have_program("sh"));
  EXPECT_TRUE(have_program("/bin/sh"));
  EXPECT_FALSE(have_program("sonde-no-such-program"));
}

}  // namespace
