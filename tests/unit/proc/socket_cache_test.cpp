// trace -y's socket tables, cached per network namespace: a hit reads
// nothing, a socket made since reloads once, and two namespaces keep two
// tables. Real sockets of this process and of a child in its own namespace.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "sonde/common/fd.h"
#include "sonde/proc/fds.h"
#include "sonde/proc/sockets.h"
#include "sonde/proc/stat.h"

namespace sonde::proc {
namespace {

// A TCP socket listening on 127.0.0.1 (port chosen by the kernel).
ScopedFd listener() {
  ScopedFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(s.get(), 1), 0);
  return s;
}

uint64_t inode_of(int fd) {
  auto t = fd_target(::getpid(), fd);
  EXPECT_TRUE(t.ok());
  auto ino = t ? socket_inode(*t) : std::nullopt;
  EXPECT_TRUE(ino.has_value()) << (t ? *t : "");
  return ino.value_or(0);
}

TEST(FdTarget, SocketLinkAndInode) {
  ScopedFd s = listener();
  auto t = fd_target(::getpid(), s.get());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->rfind("socket:[", 0), 0u) << *t;
  EXPECT_GT(socket_inode(*t).value_or(0), 0u);
  EXPECT_EQ(socket_inode("pipe:[12]"), std::nullopt);
  EXPECT_EQ(socket_inode("socket:[12"), std::nullopt);
  EXPECT_EQ(socket_inode("socket:[12]"), 12u);
  EXPECT_FALSE(fd_target(::getpid(), 987654).ok());
}

TEST(Status, ReadsTgidAndTracerPid) {
  auto st = read_status(::getpid());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->tgid, ::getpid());
  EXPECT_EQ(st->tracer_pid, 0);
  auto parsed = parse_status("Name:\tx\nTgid:\t42\nTracerPid:\t7\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->tracer_pid, 7);
  EXPECT_FALSE(read_status(-5).ok());
}

TEST(SocketCache, HitReadsNothingAndANewSocketReloadsOnce) {
  ScopedFd a = listener();
  uint64_t ia = inode_of(a.get());
  SocketCache cache;
  const SocketInfo* s = cache.find(::getpid(), ia);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->proto, "tcp");
  EXPECT_EQ(s->state, "LISTEN");
  EXPECT_EQ(cache.loads(), 1u);
  for (int i = 0; i < 5; ++i) ASSERT_NE(cache.find(::getpid(), ia), nullptr);
  EXPECT_EQ(cache.loads(), 1u) << "a hit must not read the tables";

  ScopedFd b = listener();  // made after the read: a miss, one reload
  uint64_t ib = inode_of(b.get());
  ASSERT_NE(cache.find(::getpid(), ib), nullptr);
  EXPECT_EQ(cache.loads(), 2u);
  ASSERT_NE(cache.find(::getpid(), ia), nullptr);
  EXPECT_EQ(cache.loads(), 2u);

  cache.forget(ia);  // as after a bind or connect
  ASSERT_NE(cache.find(::getpid(), ia), nullptr);
  EXPECT_EQ(cache.loads(), 3u);
  EXPECT_EQ(cache.namespaces(), 1u);
}

// A miss is remembered for a second: a busy socket that no table lists (netlink,
// packet) must not cost a read of every table per call. forget() and retry()
// (bind, connect, listen, a send) drop it at once.
TEST(SocketCache, AMissIsReadAgainOnlyAfterRetryOrForget) {
  SocketCache cache;
  EXPECT_EQ(cache.find(::getpid(), 1), nullptr);
  EXPECT_EQ(cache.find(::getpid(), 1), nullptr);
  EXPECT_EQ(cache.loads(), 1u);
  EXPECT_TRUE(cache.has_misses());
  cache.retry(1);
  EXPECT_EQ(cache.find(::getpid(), 1), nullptr);
  EXPECT_EQ(cache.loads(), 2u);
  cache.forget(1);
  EXPECT_EQ(cache.find(::getpid(), 1), nullptr);
  EXPECT_EQ(cache.loads(), 3u);
}

// An unbound TCP socket is in no table; once listening, retry() finds it.
TEST(SocketCache, ASocketMissedBeforeListenIsFoundAfterRetry) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  struct stat st;
  ASSERT_EQ(::fstat(s, &st), 0);
  SocketCache cache;
  EXPECT_EQ(cache.find(::getpid(), st.st_ino), nullptr);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(s, 1), 0);
  EXPECT_EQ(cache.find(::getpid(), st.st_ino), nullptr);  // the miss, remembered
  cache.retry(st.st_ino);
  const SocketInfo* found = cache.find(::getpid(), st.st_ino);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->proto, "tcp");
  EXPECT_EQ(found->state, "LISTEN");
  ::close(s);
}

// A child in a network namespace of its own, holding a bound unix socket:
// its table is a second one, and the socket is not in ours.
TEST(SocketCache, TwoNamespacesKeepTwoTables) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to unshare a network namespace";
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(p[0]);
    uint64_t ino = 0;
    if (::unshare(CLONE_NEWNET) == 0) {
      int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::strcpy(a.sun_path + 1, "sonde-socket-cache-test");  // abstract name
      if (::bind(s, reinterpret_cast<sockaddr*>(&a),
                 offsetof(sockaddr_un, sun_path) + 1 + std::strlen(a.sun_path + 1)) == 0) {
        struct stat st;
        if (::fstat(s, &st) == 0) ino = st.st_ino;
      }
    }
    (void)!::write(p[1], &ino, sizeof ino);
    ::pause();
    ::_exit(0);
  }
  ::close(p[1]);
  uint64_t ino = 0;
  ASSERT_EQ(::read(p[0], &ino, sizeof ino), static_cast<ssize_t>(sizeof ino));
  ::close(p[0]);
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{child};
  ASSERT_NE(ino, 0u) << "the child could not unshare or bind";
  ASSERT_NE(netns_inode(child), netns_inode(::getpid()));

  ScopedFd mine = listener();
  SocketCache cache;
  ASSERT_NE(cache.find(::getpid(), inode_of(mine.get())), nullptr);
  const SocketInfo* s = cache.find(child, ino);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->proto, "unix");
  EXPECT_EQ(cache.namespaces(), 2u);
  EXPECT_EQ(cache.loads(), 2u);
  // Ours does not have it: our table is read again and still has no such socket.
  EXPECT_EQ(cache.find(::getpid(), ino), nullptr);
  // The child's table is still cached.
  size_t loads = cache.loads();
  EXPECT_NE(cache.find(child, ino), nullptr);
  EXPECT_EQ(cache.loads(), loads);
}

}  // namespace
}  // namespace sonde::proc
