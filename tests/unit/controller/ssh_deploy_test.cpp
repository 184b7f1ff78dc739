// The deploy snippets (transport/ssh_deploy.h) run by this machine's /bin/sh
// against real folders: what they run, refuse and replace, without SSH.
// (tests/integration/deploy_test.cpp runs them through sshd.)
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "transport/ssh_deploy.h"

namespace sonde::controller {
namespace {

namespace fs = std::filesystem;

// A stand-in agent: says how it was started.
const std::string kFakeAgent = "#!/bin/sh\necho \"fake agent $*\"\n";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ShRun {
  int exit = -1;
  std::string out, err;
};

class DeployScripts : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sonde-deploy-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    std::ofstream(tmp_ + "/agent.in") << kFakeAgent;
    std::string cmd = "sha256sum < " + tmp_ + "/agent.in > " + tmp_ + "/sum";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "sha256sum is needed";
    hash_ = slurp(tmp_ + "/sum").substr(0, 64);
    ASSERT_EQ(hash_.size(), 64u);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(tmp_, fs::perms::owner_all, ec);
    fs::remove_all(tmp_, ec);
  }

  ShRun sh(const std::string& script, const std::string& stdin_file = "/dev/null") {
    std::ofstream(tmp_ + "/script.sh") << script;
    std::string cmd = "/bin/sh " + tmp_ + "/script.sh < " + stdin_file + " > " + tmp_ + "/out 2> " +
                      tmp_ + "/err";
    int st = std::system(cmd.c_str());
    ShRun r;
    r.exit = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(tmp_ + "/out");
    r.err = slurp(tmp_ + "/err");
    return r;
  }
  ShRun start(const std::string& dir) {
    return sh(deploy_start_script(remote_dir_word(dir), hash_, false, false));
  }
  ShRun upload(const std::string& dir) {
    return sh(deploy_upload_script(remote_dir_word(dir), hash_), tmp_ + "/agent.in");
  }
  std::string agent(const std::string& dir) { return dir + "/agent-" + hash_; }

  std::string tmp_, hash_;
};

TEST_F(DeployScripts, MissingThenUploadedThenRun) {
  const std::string dir = tmp_ + "/cache/sonde";
  EXPECT_EQ(start(dir).exit, kExitAgentMissing);
  auto up = upload(dir);
  ASSERT_EQ(up.exit, 0) << up.err;
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(agent(dir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  auto r = start(dir);
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "fake agent serve\n");
  // The agent and the stamp of its checked hash are left: the mktemp file
  // was renamed into place.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".verified-" + hash_, "agent-" + hash_}));
  // A second start finds the stamp unchanged and runs the agent all the same.
  r = start(dir);
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "fake agent serve\n");
}

TEST_F(DeployScripts, ASymlinkedFolderIsFollowedToWhereItReallyIs) {
  const std::string real = tmp_ + "/real";
  ASSERT_EQ(upload(real).exit, 0);
  fs::create_directory_symlink(real, tmp_ + "/link");
  auto r = start(tmp_ + "/link");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "fake agent serve\n");
}

TEST_F(DeployScripts, WritableFolderFileOrParentIsRefused) {
  const std::string dir = tmp_ + "/d";
  ASSERT_EQ(upload(dir).exit, 0);

  ::chmod(dir.c_str(), 0720);
  auto r = start(dir);
  EXPECT_EQ(r.exit, kExitRefused);
  EXPECT_NE(r.err.find(dir + " is writable by group or others (drwx-w----"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("hint: chmod 700 " + dir), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(upload(dir).exit, kExitRefused);
  ::chmod(dir.c_str(), 0700);

  ::chmod(agent(dir).c_str(), 0702);
  r = start(dir);
  EXPECT_EQ(r.exit, kExitRefused);
  EXPECT_NE(r.err.find(agent(dir) + " is writable by group or others"), std::string::npos) << r.err;
  ::chmod(agent(dir).c_str(), 0700);

  // A parent others can write to lets them rename our folder away and put
  // theirs in its place; sticky (like /tmp) stops that.
  ::chmod(tmp_.c_str(), 0777);
  r = start(dir);
  EXPECT_EQ(r.exit, kExitRefused);
  EXPECT_NE(r.err.find(tmp_ + " is writable by group or others and not sticky"), std::string::npos)
      << r.err;
  ::chmod(tmp_.c_str(), 01777);
  r = start(dir);
  EXPECT_EQ(r.exit, 0) << r.err;
  ::chmod(tmp_.c_str(), 0700);
}

TEST_F(DeployScripts, AFileThatIsNotARegularFileIsRefused) {
  const std::string dir = tmp_ + "/d";
  ASSERT_EQ(upload(dir).exit, 0);
  fs::rename(agent(dir), dir + "/elsewhere");
  fs::create_symlink(dir + "/elsewhere", agent(dir));
  auto r = start(dir);
  EXPECT_EQ(r.exit, kExitRefused);
  EXPECT_NE(r.err.find(agent(dir) + " is not a regular file"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(DeployScripts, OwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another uid";
  const std::string dir = tmp_ + "/d";
  ASSERT_EQ(upload(dir).exit, 0);
  ASSERT_EQ(::chown(agent(dir).c_str(), 65534, 65534), 0);
  auto r = start(dir);
  EXPECT_EQ(r.exit, kExitRefused);
  EXPECT_NE(r.err.find(agent(dir) + " belongs to uid 65534, not to uid 0"), std::string::npos)
      << r.err;
  ASSERT_EQ(::chown(agent(dir).c_str(), 0, 0), 0);
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  r = start(dir);
  EXPECT_EQ(r.exit, kExitRefused);
  EXPECT_NE(r.err.find(dir + " belongs to uid 65534"), std::string::npos) << r.err;
  // A parent of another user's (not root's) could swap the folder.
  ASSERT_EQ(::chown(dir.c_str(), 0, 0), 0);
  ASSERT_EQ(::chown(tmp_.c_str(), 65534, 65534), 0);
  r = start(dir);
  EXPECT_EQ(r.exit, kExitRefused);
  EXPECT_NE(r.err.find(tmp_ + " belongs to uid 65534, who could swap " + dir), std::string::npos)
      << r.err;
  ASSERT_EQ(::chown(tmp_.c_str(), 0, 0), 0);
}

TEST_F(DeployScripts, WrongBytesAreRemovedNeverRun) {
  const std::string dir = tmp_ + "/d";
  ASSERT_EQ(upload(dir).exit, 0);
  std::ofstream(agent(dir), std::ios::app) << "echo tampered\n";
  auto r = start(dir);
  EXPECT_EQ(r.exit, kExitAgentStale);
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(agent(dir)));
}

// The stamp only stands for the hash while the agent is unchanged: a changed
// agent with a stamp file forged to match it (here a symlink to one, as a
// planted file would be) is still hashed, removed and never run.
TEST_F(DeployScripts, AStampThatIsNotOursPlainFileIsNotTrusted) {
  const std::string dir = tmp_ + "/s";
  ASSERT_EQ(upload(dir).exit, 0);
  ASSERT_EQ(start(dir).exit, 0);  // writes the stamp
  const std::string stamp = dir + "/.verified-" + hash_;
  ASSERT_TRUE(fs::exists(stamp));
  std::ofstream(agent(dir), std::ios::app) << "echo tampered\n";
  // What the stamp of the changed file reads, in a file the marker links to.
  auto now = sh("LC_ALL=C ls -ldni --time=ctime --full-time -- '" + agent(dir) + "'", "/dev/null");
  ASSERT_EQ(now.exit, 0);
  std::ofstream(tmp_ + "/forged") << now.out;
  fs::remove(stamp);
  fs::create_symlink(tmp_ + "/forged", stamp);
  auto r = start(dir);
  EXPECT_EQ(r.exit, kExitAgentStale) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(agent(dir)));
}

TEST_F(DeployScripts, FolderNamesWithShellCharactersStayWords) {
  const std::string dir = tmp_ + "/a b;$(touch pwned)'q";
  ASSERT_EQ(upload(dir).exit, 0);
  auto r = start(dir);
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "fake agent serve\n");
  EXPECT_FALSE(fs::exists(tmp_ + "/pwned"));
  EXPECT_FALSE(fs::exists("/pwned"));
}

}  // namespace
}  // namespace sonde::controller
