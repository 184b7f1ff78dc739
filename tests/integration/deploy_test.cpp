// Only our agent runs on a target (issue 15): over the real test sshd, sonde
// refuses an agent in a folder another user owns or can write to (the
// attacker is a second local user, support/other_user.h), replaces a cached
// agent whose bytes do not match its name, lets concurrent deploys of one
// build all succeed, and under --sudo runs only root's own hashed copy.
// Every planted "agent" is a script that leaves a marker when it runs: the
// tests assert the marker never appears.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "sonde/common/io.h"
#include "sonde/common/protocol.h"
#include "support/contains.h"
#include "support/other_user.h"
#include "support/sshd_fixture.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kAgent = std::string(SONDE_BIN_DIR) + "/sonde-agent";
constexpr int kRunTimeoutMs = 20000;

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) return "";
  return buf.data();
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) st.st_mode = 0;
  return st;
}

std::string sha256_of(const std::string& path) {
  auto r = run_cmd({"sha256sum", path}, {}, 10000);
  return r.exit_code == 0 && r.out.size() >= 64 ? r.out.substr(0, 64) : "";
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A fake agent: a script that leaves `marker` when anything runs it.
std::string planted_script(const std::string& marker) {
  return "#!/bin/sh\necho planted > '" + marker + "'\nexit 0\n";
}

class DeploySafety : public SshdSuite {
 public:
  static void SetUpTestSuite() {
    SshdSuite::SetUpTestSuite();
    tmp_ = make_temp_dir("sonde-deploy-test");
    sha_ = sha256_of(kAgent);
  }
  static void TearDownTestSuite() {
    SshdSuite::TearDownTestSuite();
    std::error_code ec;
    if (!tmp_.empty()) fs::remove_all(tmp_, ec);
  }

 protected:
  void SetUp() override {
    if (tmp_.empty()) GTEST_SKIP() << "no scratch dir";
    SshdSuite::SetUp();
    if (IsSkipped()) return;
    ASSERT_EQ(sha_.size(), 64u) << "sha256sum of " << kAgent;
  }
  static std::map<std::string, std::string> env() { return sshd_env(); }
  static sonde::testing::Run ps(const std::string& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"-v",           "ps", sshd_->alias(), "--limit", "1",
                                     "--remote-dir", dir};
    args.insert(args.begin(), extra.begin(), extra.end());
    return run_sonde(args, env(), kRunTimeoutMs);
  }

  static inline std::string tmp_, sha_;
};

// The case: another user drops agent-<sha> into /tmp and we are
// pointed there. /tmp is writable by everyone: refused, nothing runs.
TEST_F(DeploySafety, AgentPlantedInTmpByAnotherUserIsRefused) {
  std::string why;
  auto other = other_user(&why);
  if (!other) GTEST_SKIP() << why;
  const std::string marker = tmp_ + "/ran-tmp";
  const std::string planted = "/tmp/agent-" + sha_;
  ::unlink(planted.c_str());
  auto plant =
      run_as(*other, {"/bin/sh", "-c", "umask 022; printf '%s' \"$1\" > \"$2\" && chmod 755 \"$2\"",
                      "sh", planted_script(marker), planted});
  ASSERT_EQ(plant.exit_code, 0) << plant.output;
  ASSERT_EQ(stat_of(planted).st_uid, other->uid);

  auto r = ps("/tmp");
  ::unlink(planted.c_str());
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "refusing to run the agent")) << r.err;
  EXPECT_TRUE(contains(r.err, "/tmp is writable by group or others")) << r.err;
  EXPECT_TRUE(contains(r.err, "--remote-dir")) << r.err;
  EXPECT_FALSE(fs::exists(marker)) << "the planted agent ran";
}

// A folder of another user's under sticky /tmp: that user could swap what
// is in it at any time. Refused, and their file is left alone.
TEST_F(DeploySafety, FolderOfAnotherUserIsRefused) {
  std::string why;
  auto other = other_user(&why);
  if (!other) GTEST_SKIP() << why;
  const std::string marker = tmp_ + "/ran-other";
  const std::string dir = "/tmp/sonde-planted-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(dir, ec);
  auto plant = run_as(*other, {"/bin/sh", "-c",
                               "umask 022; mkdir \"$1\" && printf '%s' \"$2\" > \"$1/agent-$3\" && "
                               "chmod 755 \"$1/agent-$3\"",
                               "sh", dir, planted_script(marker), sha_});
  ASSERT_EQ(plant.exit_code, 0) << plant.output;

  auto r = ps(dir);
  auto text = read_file(dir + "/agent-" + sha_);
  std::string left = text.ok() ? *text : "";
  fs::remove_all(dir, ec);
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, dir + " belongs to uid " + std::to_string(other->uid))) << r.err;
  EXPECT_TRUE(contains(r.err, "--remote-dir")) << r.err;
  EXPECT_FALSE(fs::exists(marker)) << "the planted agent ran";
  EXPECT_EQ(left, planted_script(marker)) << "another user's file was changed";
}

TEST_F(DeploySafety, GroupWritableFolderIsRefusedUntilFixed) {
  const std::string dir = tmp_ + "/group-writable";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0770), 0);
  auto r = ps(dir);
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, dir + " is writable by group or others (drwxrwx---")) << r.err;
  EXPECT_TRUE(contains(r.err, "chmod 700 " + dir)) << r.err;
  EXPECT_EQ(entries(dir), std::vector<std::string>{}) << "nothing is uploaded there";

  // A parent that others can write to (and is not sticky) is refused too.
  const std::string sub = dir + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  r = ps(sub);
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, dir + " is writable by group or others and not sticky")) << r.err;

  ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
  r = ps(dir);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "deploy: uploading agent")) << r.err;
  EXPECT_EQ(sha256_of(dir + "/agent-" + sha_), sha_);
}

// A cached agent whose bytes are not what its name says (a damaged copy,
// or a swap by the same user) never runs: it is replaced by a fresh upload.
TEST_F(DeploySafety, CachedAgentWithTheWrongHashIsReplacedNotRun) {
  const std::string dir = tmp_ + "/mismatch";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  const std::string marker = tmp_ + "/ran-mismatch";
  const std::string cached = dir + "/agent-" + sha_;
  {
    std::ofstream f(cached);
    f << planted_script(marker);
  }
  ASSERT_EQ(::chmod(cached.c_str(), 0700), 0);

  auto r = ps(dir);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "did not match its hash; replacing it")) << r.err;
  EXPECT_TRUE(contains(r.out, "PID")) << r.out;
  EXPECT_FALSE(fs::exists(marker)) << "the mismatched file ran";
  EXPECT_EQ(sha256_of(cached), sha_);
  EXPECT_EQ(entries(dir), (std::vector<std::string>{".verified-" + sha_, "agent-" + sha_}));

  // A group-writable cached file is refused, not replaced: who wrote it?
  ASSERT_EQ(::chmod(cached.c_str(), 0720), 0);
  r = ps(dir);
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, cached + " is writable by group or others")) << r.err;
}

// A start whose agent was hashed before and not changed since (its stamp:
// inode, mode, size, change time, saved in .verified-HASH) skips the hash;
// any change to the file, even one that keeps its size, brings the hash back
// and the file is replaced, never run.
TEST_F(DeploySafety, VerifiedStampSkipsTheHashUntilTheFileChanges) {
  const std::string dir = tmp_ + "/stamp";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  auto r = ps(dir);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const std::string cached = dir + "/agent-" + sha_, stamp = dir + "/.verified-" + sha_;
  ASSERT_TRUE(fs::exists(stamp)) << "no stamp after the first start";
  std::string first;
  std::getline(std::ifstream(stamp), first);
  EXPECT_TRUE(contains(first, cached)) << first;
  EXPECT_EQ(stat_of(stamp).st_mode & 0077, 0u) << "the stamp is private";
  r = ps(dir);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string second;
  std::getline(std::ifstream(stamp), second);
  EXPECT_EQ(first, second) << "an unchanged agent keeps its stamp";
  EXPECT_FALSE(contains(r.err, "replacing it")) << r.err;

  // Same size, one byte different: the stamp no longer matches.
  const std::string marker = tmp_ + "/ran-stamp";
  // The agent of the run above may still be exiting: writing to a file that
  // runs fails (ETXTBSY) until it is gone. Bounded: 100 tries, 5 s.
  bool written = false;
  for (int i = 0; i < 100 && !written; ++i) {
    std::fstream f(cached, std::ios::in | std::ios::out | std::ios::binary);
    if (f) {
      f.seekp(0);
      f << planted_script(marker).substr(0, 2);  // "#!" over the ELF magic
      f.flush();
      written = f.good();
    }
    if (!written) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(written) << "could not write " << cached;
  r = ps(dir);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "did not match its hash; replacing it")) << r.err;
  EXPECT_EQ(sha256_of(cached), sha_);
}

// An agent without the hash file the build writes beside it (a copy, a
// package that left it out): the agent hashes itself, and the deploy names
// and checks the file by that hash, as sha256sum computes it.
TEST_F(DeploySafety, AgentWithoutItsHashFileHashesItself) {
  const std::string bin = tmp_ + "/bin-nosidecar";
  ASSERT_EQ(::mkdir(bin.c_str(), 0700), 0);
  const std::string agent = bin + "/sonde-agent";
  fs::copy_file(kAgent, agent);
  ASSERT_EQ(::chmod(agent.c_str(), 0700), 0);
  ASSERT_FALSE(fs::exists(agent + ".sha256"));
  const std::string dir = tmp_ + "/nosidecar";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  auto r = ps(dir, {"--agent", agent});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "PID")) << r.out;
  EXPECT_EQ(entries(dir), (std::vector<std::string>{".verified-" + sha_, "agent-" + sha_}));
}

// Uploads go through a mktemp file and a rename: controllers deploying the
// same build into one empty folder at once all succeed and leave one file.
TEST_F(DeploySafety, ConcurrentDeploysIntoAnEmptyFolderAllSucceed) {
  const std::string dir = tmp_ + "/concurrent";  // does not exist yet
  constexpr int kRuns = 3;
  std::vector<sonde::testing::Run> runs(kRuns);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i) threads.emplace_back([&, i] { runs[i] = ps(dir); });
  for (auto& t : threads) t.join();
  int uploaded = 0;
  for (const auto& r : runs) {
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(contains(r.out, "PID")) << r.out;
    if (contains(r.err, "deploy: uploading agent")) ++uploaded;
  }
  EXPECT_GE(uploaded, 1);
  EXPECT_EQ(entries(dir), (std::vector<std::string>{".verified-" + sha_, "agent-" + sha_}))
      << "temp files left over";
  EXPECT_EQ(sha256_of(dir + "/agent-" + sha_), sha_);
  struct stat st = stat_of(dir);
  EXPECT_EQ(st.st_mode & 07777, 0700u) << std::oct << (st.st_mode & 07777);
}

// --sudo: root copies the agent into its own 0700 folder, hashes that copy
// and runs it. Changing the user's copy afterwards changes nothing root runs.
TEST_F(DeploySafety, SudoRunsRootsOwnHashedCopy) {
  if (!have_program("sudo")) GTEST_SKIP() << "sudo is not installed (apt-get install sudo)";
  if (!is_root()) GTEST_SKIP() << "sudo -n needs a password unless we are root";
  const std::string dir = tmp_ + "/sudo";
  const std::string root_copy = "/var/cache/sonde/agent-" + sha_;
  ::unlink(root_copy.c_str());  // so that root copies it from the user's upload now
  auto r = ps(dir, {"--json", "--sudo"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  struct stat st = stat_of(root_copy);
  ASSERT_TRUE(S_ISREG(st.st_mode)) << root_copy;
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_mode & 07777, 0700u) << std::oct << (st.st_mode & 07777);
  EXPECT_EQ(stat_of("/var/cache/sonde").st_mode & 07777, 0700u);
  EXPECT_EQ(sha256_of(root_copy), sha_);

  // The agent that answers is root's copy, not the user's file (the agent is
  // sonde's own process: --name lists it only with --include-sonde).
  auto agents = run_sonde({"--json", "--sudo", "ps", sshd_->alias(), "--name", "agent-",
                           "--include-sonde", "--remote-dir", dir},
                          env(), kRunTimeoutMs);
  ASSERT_EQ(agents.exit_code, 0) << describe(agents);
  json j = json::parse(agents.out, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("processes")) << agents.out;
  bool root_copy_runs = false;
  for (const auto& p : j["processes"]) {
    std::string cmd = p.value("cmdline", "");
    if (cmd.rfind(root_copy + " serve", 0) == 0) root_copy_runs = true;
  }
  EXPECT_TRUE(root_copy_runs) << "no `" << root_copy << " serve` in\n" << j.dump(1);

  // The user swaps their copy for something else: root still runs its own.
  const std::string marker = tmp_ + "/ran-sudo";
  const std::string user_copy = dir + "/agent-" + sha_;
  ::unlink(user_copy.c_str());
  {
    std::ofstream f(user_copy);
    f << planted_script(marker);
  }
  ::chmod(user_copy.c_str(), 0700);
  r = ps(dir, {"--sudo"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(fs::exists(marker)) << "root ran the user's file";
}

}  // namespace
}  // namespace sonde::testing
