// The undo client (sonde/common/undo.h) against a real socketpair standing
// in for the watchdog: what a registration puts on the wire, the pid-reuse
// stamp, and the refusals when the watchdog is missing or gone.
#include "sonde/common/undo.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace sonde::undo {
namespace {

// One queued message, decoded; null when none is waiting.
json next_msg(int fd) {
  std::vector<uint8_t> buf(65536);
  ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
  if (n <= 0) return nullptr;
  return json::from_msgpack(buf.begin(), buf.begin() + n);
}

// The client's state is process-wide, so one test walks through it in order:
// no watchdog, a watchdog, a watchdog gone.
TEST(UndoClient, RegistrationsFollowTheWatchdogsState) {
  // Never connected (a library used alone): allowed, nothing registered.
  ASSERT_FALSE(connected());
  {
    auto c = register_change(kFile, ::getpid(), {{"path", "/nonexistent"}});
    ASSERT_TRUE(c.ok());
    EXPECT_FALSE(c->active());
  }

  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  connect(sv[0]);
  ASSERT_TRUE(connected());
  {
    auto c = register_change(kAffinity, ::getpid(), {{"mask", {3}}});
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_TRUE(c->active());
    json add = next_msg(sv[1]);
    ASSERT_TRUE(add.is_object());
    EXPECT_EQ(add["op"], "add");
    EXPECT_EQ(add["id"], c->id());
    EXPECT_EQ(add["kind"], "affinity");
    EXPECT_EQ(add["pid"], ::getpid());
    EXPECT_EQ(add["start"], start_time(::getpid()));
    EXPECT_EQ(add["args"]["mask"], json({3}));
    EXPECT_TRUE(next_msg(sv[1]).is_null()) << "one message per registration";

    // Moved, it is still one registration; destroyed, it unregisters once.
    Change moved = std::move(*c);
    EXPECT_FALSE(c->active());
    uint64_t id = moved.id();
    moved.forget();
    json del = next_msg(sv[1]);
    EXPECT_EQ(del, json({{"op", "del"}, {"id", id}}));
    moved.forget();
    EXPECT_TRUE(next_msg(sv[1]).is_null());
  }
  {
    // Handed over: no del, the watchdog keeps it.
    auto c = register_change(kFile, 0, {{"path", "/tmp/x"}});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(next_msg(sv[1])["pid"], 0);
    c->leave_to_watchdog();
  }
  EXPECT_TRUE(next_msg(sv[1]).is_null());

  // A pid that is gone: nothing to change, nothing registered.
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  auto gone = register_change(kJmx, child, {});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, errc::kNotFound);
  EXPECT_TRUE(next_msg(sv[1]).is_null());

  // The watchdog gone: refused, so the caller makes no change.
  ::close(sv[1]);
  auto refused = register_change(kJfr, ::getpid(), {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, errc::kAgent);
  EXPECT_NE(refused.error().message.find("watchdog"), std::string::npos);
  EXPECT_FALSE(refused.error().hint.empty());

  // Never started: refused with the reason.
  connect(-1, "fork: Resource temporarily unavailable");
  EXPECT_FALSE(connected());
  auto none = register_change(kJfr, ::getpid(), {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("fork: Resource"), std::string::npos);
  ::close(sv[0]);
}

TEST(UndoClient, StartTimeIsField22WhateverTheCommHolds) {
  int go[2], renamed[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(renamed), 0);
  pid_t child = ::fork();
  if (child == 0) {
    char c;
    (void)!::read(go[0], &c, 1);
    // Field 2 with spaces and parentheses must not shift the count.
    ::prctl(PR_SET_NAME, "x) 1 2 (3 4)", 0, 0, 0);
    (void)!::write(renamed[1], "r", 1);
    ::pause();
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  uint64_t plain = start_time(child);
  (void)!::write(go[1], "g", 1);
  char c;
  ASSERT_EQ(::read(renamed[0], &c, 1), 1);
  EXPECT_GT(plain, 0u);
  EXPECT_EQ(start_time(child), plain);
  EXPECT_GE(plain, start_time(::getpid()));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_EQ(start_time(child), 0u);
  EXPECT_EQ(start_time(-5), 0u);
}

}  // namespace
}  // namespace sonde::undo
