// The attach reply reader keeps a capped prefix and counts the rest, over a
// real socket with a writer that sends more than the cap.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/jvm/attach.h"

namespace sonde::jvm {
namespace {

// Writes `total` bytes ("0\n" then a repeating pattern) and closes.
std::thread writer(int fd, size_t total) {
  return std::thread([fd, total] {
    std::string chunk(65536, 'x');
    for (size_t i = 0; i < chunk.size(); i += 64) chunk[i] = '\n';
    size_t sent = 0;
    if (write_all(fd, "0\n").ok()) sent = 2;
    while (sent < total) {
      size_t n = std::min(chunk.size(), total - sent);
      if (!write_all(fd, std::string_view(chunk).substr(0, n)).ok()) break;
      sent += n;
    }
    ::close(fd);
  });
}

TEST(AttachReader, KeepsTheCapAndCountsTheRest) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ScopedFd reader(sv[0]);
  const size_t total = 3u << 20;
  auto w = writer(sv[1], total);
  AttachOptions o;
  o.max_reply_bytes = 1u << 20;
  auto r = read_attach_reply(reader.get(), o, nullptr, "test reply");
  w.join();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->bytes.size(), 1u << 20);
  EXPECT_EQ(r->more_bytes, total - (1u << 20));
  auto parsed = parse_attach_reply(r->bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->status, 0);
}

TEST(AttachReader, ReplyUnderTheCapIsWhole) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ScopedFd reader(sv[0]);
  auto w = writer(sv[1], 100000);
  auto r = read_attach_reply(reader.get(), {}, nullptr, "test reply");
  w.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes.size(), 100000u);
  EXPECT_EQ(r->more_bytes, 0u);
}

TEST(AttachReader, DefaultCapFitsAFrame) {
  EXPECT_LE(AttachOptions{}.max_reply_bytes + (64u << 10), 16u << 20);
}

TEST(AttachReader, SilentPeerTimesOutNamingTheReply) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ScopedFd reader(sv[0]), peer(sv[1]);
  AttachOptions o;
  o.reply_timeout_ms = 300;
  auto r = read_attach_reply(reader.get(), o, nullptr, "JVM 1's `x` reply");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kTimeout);
  EXPECT_NE(r.error().message.find("JVM 1's `x` reply"), std::string::npos);
}

}  // namespace
}  // namespace sonde::jvm
