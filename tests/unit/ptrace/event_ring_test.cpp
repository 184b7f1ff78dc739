// Live trace events: the plain struct's JSON is the wire format the
// controller reads, and the ring drops and counts instead of blocking.
#include <signal.h>
#include <sys/syscall.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sonde/ptrace/event_ring.h"

namespace sonde::ptrace {
namespace {

using Type = TraceEvent::Type;

TEST(TraceEventJson, SyscallIsTheWireFormat) {
  TraceEvent e;
  e.reset(Type::kSyscall, 42);
  e.nr = SYS_openat;
  e.ret = -2;
  e.ts_ns = 1000;
  e.dur_ns = 7;
  e.args_text = "AT_FDCWD, \"/nope\", O_RDONLY";
  e.ret_text = "-1 ENOENT (No such file or directory)";
  json j = to_json(e);
  EXPECT_EQ(j, json::parse(R"J({"type":"syscall","pid":42,"name":"openat","nr":257,
    "args_text":"AT_FDCWD, \"/nope\", O_RDONLY","ret":-2,
    "ret_text":"-1 ENOENT (No such file or directory)","errno":"ENOENT","ts_ns":1000,"dur_ns":7})J"));

  e.reset(Type::kSyscall, 42);
  e.nr = SYS_exit_group;
  e.returned = false;
  e.args_text = "0";
  e.ret_text = "?";
  e.args = json::array({{{"name", "status"}, {"value", 0}}});
  j = to_json(e);
  EXPECT_TRUE(j["ret"].is_null());
  EXPECT_EQ(j["name"], "exit_group");
  EXPECT_EQ(j["args"].size(), 1u);
  EXPECT_FALSE(j.contains("errno"));
}

TEST(TraceEventJson, OtherTypes) {
  TraceEvent e;
  e.reset(Type::kSignal, 5);
  e.sig = SIGSTOP;
  e.group_stop = true;
  e.ts_ns = 9;
  EXPECT_EQ(to_json(e), json::parse(R"J({"type":"signal","pid":5,"sig":"SIGSTOP",
    "group_stop":true,"ts_ns":9})J"));
  e.reset(Type::kSignal, 5);
  e.sig = SIGCHLD;
  EXPECT_FALSE(to_json(e).contains("group_stop"));
  e.reset(Type::kExit, 5);
  e.code = 3;
  EXPECT_EQ(to_json(e), json::parse(R"J({"type":"exit","pid":5,"code":3,"ts_ns":0})J"));
  e.reset(Type::kKilled, 5);
  e.sig = SIGKILL;
  EXPECT_EQ(to_json(e)["sig"], "SIGKILL");
  e.reset(Type::kAttached, 5);
  e.tids = 4;
  EXPECT_EQ(to_json(e), json::parse(R"J({"type":"attached","pid":5,"tids":4,"ts_ns":0})J"));
  e.reset(Type::kDetached, 5);
  EXPECT_EQ(to_json(e), json::parse(R"J({"type":"detached","pid":5,"ts_ns":0})J"));
}

TEST(EventRing, FullRingDropsAndCounts) {
  EventRing ring(8, 1 << 20, 4);
  for (int i = 0; i < 8; ++i) {
    TraceEvent* e = ring.claim(Type::kExit, i);
    ASSERT_NE(e, nullptr);
    ring.publish();
  }
  EXPECT_EQ(ring.claim(Type::kExit, 99), nullptr);
  EXPECT_EQ(ring.lost(), 1u);
  std::vector<pid_t> got;
  auto take = [&](TraceEvent& e) { got.push_back(e.pid); };
  ASSERT_TRUE(ring.take(take, std::chrono::milliseconds(0)));
  EXPECT_EQ(got, (std::vector<pid_t>{0, 1, 2, 3}));  // one batch
  ASSERT_NE(ring.claim(Type::kExit, 8), nullptr);    // room again
  ring.publish();
  ring.close();
  while (ring.take(take, std::chrono::milliseconds(0))) {
  }
  EXPECT_EQ(got, (std::vector<pid_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(EventRing, ByteBudgetDropsAndCounts) {
  EventRing ring(16, 300, 4);
  TraceEvent* e = ring.claim(Type::kSyscall, 1);
  e->args_text.assign(150, 'x');
  ring.publish();  // 96 + 150
  e = ring.claim(Type::kSyscall, 2);
  e->args_text.assign(150, 'y');
  ring.publish();  // over 300: dropped
  EXPECT_EQ(ring.lost(), 1u);
  int n = 0;
  ring.close();
  while (ring.take([&](TraceEvent&) { ++n; }, std::chrono::milliseconds(0))) {
  }
  EXPECT_EQ(n, 1);
}

// A producer and a consumer thread: every event is either received, in
// order, or counted lost; none is seen twice or torn.
TEST(EventRing, ProducerAndConsumerThreads) {
  EventRing ring(256, 1 << 20, 32);
  constexpr int kEvents = 200000;
  std::vector<int> got;
  std::thread consumer([&] {
    while (ring.take([&](TraceEvent& e) {
      EXPECT_EQ(e.args_text, std::to_string(e.pid));
      got.push_back(e.pid);
    })) {
    }
  });
  for (int i = 0; i < kEvents; ++i) {
    if (TraceEvent* e = ring.claim(Type::kSyscall, i)) {
      e->args_text = std::to_string(i);
      ring.publish();
    }
  }
  ring.close();
  consumer.join();
  EXPECT_EQ(got.size() + ring.lost(), static_cast<size_t>(kEvents));
  for (size_t i = 1; i < got.size(); ++i) ASSERT_LT(got[i - 1], got[i]);
}

}  // namespace
}  // namespace sonde::ptrace
