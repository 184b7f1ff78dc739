// sonde inject's rule syntax: strace's -e inject= (when=, error=, retval=,
// signal=, delays, fault=) and sonde's argument filters, with clear errors.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>

#include "sonde/ptrace/inject.h"
#include "sonde/ptrace/trace_contract.h"

namespace sonde::ptrace {
namespace {

TEST(InjectWhen, StraceForms) {
  auto w = parse_when("3");
  ASSERT_TRUE(w);
  EXPECT_FALSE(w->fires(2));
  EXPECT_TRUE(w->fires(3));
  EXPECT_FALSE(w->fires(4));
  w = parse_when("2+");
  ASSERT_TRUE(w);
  EXPECT_FALSE(w->fires(1));
  EXPECT_TRUE(w->fires(2));
  EXPECT_TRUE(w->fires(1000));
  w = parse_when("2+3");
  ASSERT_TRUE(w);
  for (uint64_t n : {2, 5, 8, 101}) EXPECT_TRUE(w->fires(n)) << n;
  for (uint64_t n : {1, 3, 4, 6, 100}) EXPECT_FALSE(w->fires(n)) << n;
  w = parse_when("3..5");
  ASSERT_TRUE(w);
  EXPECT_FALSE(w->fires(2));
  EXPECT_TRUE(w->fires(4));
  EXPECT_TRUE(w->fires(5));
  EXPECT_FALSE(w->fires(6));
  w = parse_when("2..8+3");
  ASSERT_TRUE(w);
  for (uint64_t n : {2, 5, 8}) EXPECT_TRUE(w->fires(n)) << n;
  for (uint64_t n : {3, 11}) EXPECT_FALSE(w->fires(n)) << n;
  for (const char* bad : {"", "0", "0+", "x", "3..2", "2+0", "1..", "..3", "+2", "2++"})
    EXPECT_FALSE(parse_when(bad)) << bad;
}

TEST(InjectRule, ActionsAndTheirNames) {
  auto r = parse_inject_rule("openat,read:error=ENOENT:when=3+");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->syscalls[SYS_openat]);
  EXPECT_TRUE(r->syscalls[SYS_read]);
  EXPECT_FALSE(r->syscalls[SYS_write]);
  EXPECT_EQ(r->error, ENOENT);
  EXPECT_TRUE(r->skips_call());
  EXPECT_EQ(r->when.first, 3u);
  r = parse_inject_rule("getpid:retval=42:signal=USR1:delay_enter=10ms:delay_exit=250");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->retval, 42);
  EXPECT_EQ(r->signal, SIGUSR1);
  EXPECT_EQ(r->delay_enter_ns, 10000000);
  EXPECT_EQ(r->delay_exit_ns, 250000);  // bare: microseconds, as strace
  r = parse_inject_rule("read:error=5");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, 5);
  r = parse_inject_rule("%file:signal=SIGKILL:delay_enter=1s");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->syscalls[SYS_openat]);
  EXPECT_FALSE(r->skips_call());
  // fault= answers ENOSYS unless told otherwise.
  r = parse_inject_rule("close", true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, ENOSYS);
}

TEST(InjectRule, ArgumentFilters) {
  auto r = parse_inject_rule("connect:error=ECONNREFUSED:peer=10.0.0.5:5432:when=2");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->peer);
  EXPECT_EQ(r->peer->family, AF_INET);
  EXPECT_EQ(r->peer->port, 5432);
  EXPECT_EQ(r->when.first, 2u);
  r = parse_inject_rule("connect:error=ECONNREFUSED:peer=[::1]:80");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->peer->family, AF_INET6);
  EXPECT_EQ(r->peer->port, 80);
  r = parse_inject_rule("sendto:error=EPERM:peer=::1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->peer->port, -1);
  r = parse_inject_rule("read:error=EIO:fd=7:path=/srv/a:b");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->fd, 7);
  EXPECT_EQ(r->path, "/srv/a:b");  // path= runs to the end
  EXPECT_EQ(path_args(SYS_openat), 1u << 1);
  EXPECT_EQ(path_args(SYS_renameat2), (1u << 1) | (1u << 3));
  EXPECT_EQ(path_args(SYS_read), 0u);
  EXPECT_EQ(sockaddr_arg(SYS_connect), 1);
  EXPECT_EQ(sockaddr_arg(SYS_sendto), 4);
}

TEST(InjectRule, ErrorsSayWhatIsWrongWithAHint) {
  for (const char* bad :
       {"", ":error=EIO", "nosuch:error=EIO", "read", "read:error=EWHAT", "read:retval=x",
        "read:retval=-2", "read:error=EIO:retval=0", "read:signal=SIGNOPE", "read:when=0",
        "read:delay_enter=5parsecs", "read:delay_exit=0s", "read:delay_enter=99999999999s",
        "read:error=EIO:color=red", "read:error=EIO:fd=-1", "connect:error=EIO:peer=not-an-ip",
        "read:error=EIO:path=", "read:error", "none:error=EIO"}) {
    auto r = parse_inject_rule(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, errc::kBadArgs) << bad;
    EXPECT_FALSE(r.error().hint.empty()) << bad;
  }
}

TEST(InjectRule, DescribedInWords) {
  auto r = parse_inject_rule("openat:error=ENOENT:when=3+2:path=/etc/hosts");
  ASSERT_TRUE(r);
  EXPECT_EQ(describe(*r),
            "openat: fail with ENOENT; calls 3, 5, 7... of each thread, when the path is "
            "/etc/hosts");
  r = parse_inject_rule("read:delay_enter=10ms:when=4");
  ASSERT_TRUE(r);
  EXPECT_EQ(describe(*r), "read: hold 10 ms before it runs; call 4 only of each thread");
  r = parse_inject_rule("getppid:retval=0:when=2..4");
  ASSERT_TRUE(r);
  EXPECT_EQ(describe(*r), "getppid: return 0 without running it; calls 2, 3, 4 of each thread");
}

TEST(InjectContract, ValidateBoundsARunningProcess) {
  TraceArgs a;
  a.pids = {1234};
  a.inject = {"inject=read:error=EIO"};
  EXPECT_TRUE(validate(a).ok());
  a.duration_ms = 11 * 60 * 1000;
  EXPECT_FALSE(validate(a).ok());
  a.force = true;
  EXPECT_TRUE(validate(a).ok());
  a.force = false;
  a.duration_ms = 1000;
  a.pids = {1};
  auto st = validate(a);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().hint.find("--force"), std::string::npos);
  a.pids = {1234};
  a.probability = 0;
  EXPECT_FALSE(validate(a).ok());
  a.probability = 0.25;
  a.inject = {"trace=read"};
  EXPECT_FALSE(validate(a).ok());
  // Round trip.
  a.inject = {"inject=read:error=EIO", "fault=close"};
  a.inject_count = 3;
  a.seed = 9;
  auto back = trace_args_from_json(to_json(a));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->inject, a.inject);
  EXPECT_EQ(back->probability, 0.25);
  EXPECT_EQ(back->inject_count, 3u);
  EXPECT_EQ(back->seed, 9u);
}

}  // namespace
}  // namespace sonde::ptrace
