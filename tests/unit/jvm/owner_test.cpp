// hsperfdata files and attach sockets another user planted are skipped, as
// the JDK skips them (issue 15, point 6): the hsperfdata_<user> directory
// and the file must be the JVM's effective user's, not symlinks, the
// directory writable by nobody else, and the file a regular file (a FIFO
// there must not hang us); the attach socket must be the JVM user's, mode
// 0600, and served by the JVM itself. The "JVM" here is this test process
// or a `sleep` child (its /proc/PID/root/tmp is /tmp), with a pid number no
// real process can have for the hsperfdata file. Needs root and the second
// local user (tests/support/other_user.h).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "data.h"
#include "sonde/common/fd.h"
#include "sonde/common/subprocess.h"
#include "sonde/jvm/attach.h"
#include "sonde/jvm/hsperf.h"
#include "support/other_user.h"

namespace sonde::jvm {
namespace {

namespace fs = std::filesystem;

constexpr pid_t kNsPid = 4194399;  // over pid_max: no real JVM's file

bool has_note(const std::vector<std::string>& notes, const std::string& part) {
  for (const auto& n : notes)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

std::string joined(const std::vector<std::string>& notes) {
  std::string s;
  for (const auto& n : notes) s += n + "\n";
  return s;
}

class HsperfOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    other_ = sonde::testing::other_user(&why);
    if (!other_) GTEST_SKIP() << why;
    dir_ = "/tmp/hsperfdata_sonde-owner-test-" + std::to_string(::getpid());
    fs::remove_all(dir_);
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);  // whatever the umask
    file_ = dir_ + "/" + std::to_string(kNsPid);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  void write_good() {
    std::ofstream(file_, std::ios::binary) << testing::data_file("hsperfdata_jdk17_g1.bin");
  }
  // read_hsperfdata for the test process as the JVM, root as its user.
  Result<PerfData> read(std::vector<std::string>* notes) {
    return read_hsperfdata(::getpid(), kNsPid, 0, notes);
  }
  std::optional<sonde::testing::OtherUser> other_;
  std::string dir_, file_;
};

TEST_F(HsperfOwnerTest, OwnFileIsRead) {
  write_good();
  std::vector<std::string> notes;
  auto d = read(&notes);
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(perf_string(*d, "java.property.java.version"), "17.0.15");
  EXPECT_TRUE(notes.empty()) << joined(notes);
}

TEST_F(HsperfOwnerTest, FileOfAnotherUserIsSkipped) {
  write_good();
  ASSERT_EQ(::chown(file_.c_str(), other_->uid, other_->gid), 0);
  std::vector<std::string> notes;
  auto d = read(&notes);
  EXPECT_FALSE(d.ok());
  EXPECT_TRUE(has_note(
      notes, file_ + " belongs to uid " + std::to_string(other_->uid) + ", not to the JVM's uid 0"))
      << joined(notes);
}

TEST_F(HsperfOwnerTest, DirectoryOfAnotherUserIsSkipped) {
  write_good();
  ASSERT_EQ(::chown(dir_.c_str(), other_->uid, other_->gid), 0);
  std::vector<std::string> notes;
  EXPECT_FALSE(read(&notes).ok());
  EXPECT_TRUE(has_note(notes, dir_ + " belongs to uid " + std::to_string(other_->uid)))
      << joined(notes);
}

TEST_F(HsperfOwnerTest, DirectoryWritableByOthersIsSkipped) {
  write_good();
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  std::vector<std::string> notes;
  EXPECT_FALSE(read(&notes).ok());
  EXPECT_TRUE(has_note(notes, dir_ + " is writable by others (mode 777)")) << joined(notes);
}

TEST_F(HsperfOwnerTest, SymlinkIsNotFollowed) {
  std::string target = dir_ + "/real";
  std::ofstream(target, std::ios::binary) << testing::data_file("hsperfdata_jdk17_g1.bin");
  ASSERT_EQ(::symlink(target.c_str(), file_.c_str()), 0);
  std::vector<std::string> notes;
  EXPECT_FALSE(read(&notes).ok());
  EXPECT_TRUE(has_note(notes, file_ + " is a symbolic link")) << joined(notes);
}

// A FIFO where the file should be: an open without O_NONBLOCK would wait
// for a writer forever. Bounded here; a writer is supplied if it hangs.
TEST_F(HsperfOwnerTest, FifoDoesNotHang) {
  ASSERT_EQ(::mkfifo(file_.c_str(), 0644), 0);
  std::vector<std::string> notes;
  auto f = std::async(std::launch::async, [&] { return read(&notes); });
  if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "read_hsperfdata hangs on a FIFO";
    int w = ::open(file_.c_str(), O_WRONLY | O_NONBLOCK);
    if (w >= 0) ::close(w);
  }
  EXPECT_FALSE(f.get().ok());
  EXPECT_TRUE(has_note(notes, file_ + " is not a regular file (a FIFO)")) << joined(notes);
}

// A listening Unix socket at path, made by this process.
ScopedFd listen_at(const std::string& path) {
  ScopedFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s.get(), 4) != 0)
    return ScopedFd();
  ::chmod(path.c_str(), 0600);
  return s;
}

class AttachSocketOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    other_ = sonde::testing::other_user(&why);
    if (!other_) GTEST_SKIP() << why;
    auto c = spawn({"sleep", "60"});
    ASSERT_TRUE(c.ok()) << c.error().describe();
    jvm_ = std::move(*c);
    sock_ = "/tmp/.java_pid" + std::to_string(jvm_.pid());
    ::unlink(sock_.c_str());
  }
  void TearDown() override {
    if (!sock_.empty()) ::unlink(sock_.c_str());
    jvm_.kill(SIGKILL);
  }
  // Short waits: a refusal must come before any trigger or wait.
  Result<AttachReply> attach() {
    AttachOptions o;
    o.connect_timeout_ms = 500;
    return attach_execute(jvm_.pid(), "properties", {}, o);
  }
  std::optional<sonde::testing::OtherUser> other_;
  Child jvm_;
  std::string sock_;
};

TEST_F(AttachSocketOwnerTest, CheckNamesOwnerModeAndKind) {
  EXPECT_EQ(check_attach_socket(sock_, 0).error().code, errc::kNotFound);
  ScopedFd s = listen_at(sock_);
  ASSERT_TRUE(s.valid());
  EXPECT_TRUE(check_attach_socket(sock_, 0).ok());
  auto other = check_attach_socket(sock_, other_->uid);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, errc::kPermission);
  EXPECT_NE(other.error().message.find("belongs to uid 0, not to the JVM's uid " +
                                       std::to_string(other_->uid)),
            std::string::npos)
      << other.error().message;
  ASSERT_EQ(::chmod(sock_.c_str(), 0666), 0);
  auto open = check_attach_socket(sock_, 0);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("open to other users (mode 666)"), std::string::npos);
  ::unlink(sock_.c_str());
  ASSERT_EQ(::symlink("/tmp", sock_.c_str()), 0);
  auto link = check_attach_socket(sock_, 0);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().message.find("a symbolic link"), std::string::npos);
}

// A socket another user planted under the JVM's name is not talked to.
TEST_F(AttachSocketOwnerTest, PlantedByAnotherUserIsRefused) {
  ScopedFd s = listen_at(sock_);
  ASSERT_TRUE(s.valid());
  ASSERT_EQ(::chown(sock_.c_str(), other_->uid, other_->gid), 0);
  auto r = attach();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kPermission);
  EXPECT_NE(r.error().message.find("belongs to uid " + std::to_string(other_->uid)),
            std::string::npos)
      << r.error().describe();
  // Nothing was accepted on it.
  pollfd p{s.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
}

// Right owner and mode, but served by another process than the JVM: the
// listener's credentials give it away.
TEST_F(AttachSocketOwnerTest, ServedByAnotherProcessIsRefused) {
  ScopedFd s = listen_at(sock_);
  ASSERT_TRUE(s.valid());
  auto r = attach();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kPermission);
  EXPECT_NE(r.error().message.find("is served by pid " + std::to_string(::getpid())),
            std::string::npos)
      << r.error().describe();
}

}  // namespace
}  // namespace sonde::jvm
