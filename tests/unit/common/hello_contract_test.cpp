// The agent's hello, the `capabilities` result and `ping`: they survive the
// wire field for field, nulls stay null, and malformed peer data names the
// field instead of throwing.
#include <gtest/gtest.h>

#include "sonde/common/hello_contract.h"
#include "sonde/common/json_read.h"
#include "sonde/common/ping_contract.h"
#include "support/contains.h"
#include "support/wire.h"

namespace sonde {
namespace {

using sonde::testing::contains;
using sonde::testing::over_the_wire;

Capabilities sample() {
  Capabilities c;
  HelloFacts& h = c.facts;
  h.agent_version = "0.1.0";
  h.protocol = 1;
  h.kernel = "Linux 6.1.0";
  h.arch = "x86_64";
  h.hostname = "db1";
  h.pid = 4321;
  h.uid = 1000;
  h.euid = 1000;
  h.gid = 1000;
  h.egid = 1000;
  h.undo_watchdog = 4322;
  h.ptrace = {true, 1, false, "Yama ptrace_scope=1: only descendants"};
  h.perf_event.paranoid = 2;
  h.perf_event.present = true;
  h.perf_event.allowed = false;
  h.perf_event.why = "seccomp";
  h.cap_net_raw = false;
  c.jdk_tools.java = "/usr/bin/java";
  c.gdbserver = "/usr/bin/gdbserver";
  return c;
}

TEST(HelloContract, CapabilitiesRoundTrip) {
  json j = to_json(sample());
  auto back = capabilities_from_json(over_the_wire(j));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->facts.hostname, "db1");
  EXPECT_EQ(back->facts.ptrace.yama_ptrace_scope, 1);
  EXPECT_EQ(back->facts.perf_event.why, "seccomp");
  EXPECT_EQ(back->jdk_tools.java, "/usr/bin/java");
  EXPECT_FALSE(back->jdk_tools.jcmd);
  // What the agent could not find or read goes as null, not left out.
  EXPECT_TRUE(j["jdk_tools"]["jcmd"].is_null());
  EXPECT_TRUE(j["jdk_tools"].contains("jfr"));
  Capabilities none = sample();
  none.facts.ptrace.yama_ptrace_scope.reset();
  none.facts.perf_event.paranoid.reset();
  none.gdbserver.reset();
  json n = to_json(none);
  EXPECT_TRUE(n["ptrace"]["yama_ptrace_scope"].is_null());
  EXPECT_TRUE(n["perf_event"]["paranoid"].is_null());
  EXPECT_TRUE(n["gdbserver"].is_null());
  EXPECT_EQ(to_json(*capabilities_from_json(over_the_wire(n))), n);
}

TEST(HelloContract, HelloCarriesNoProbes) {
  json h = to_json(sample().facts);
  EXPECT_FALSE(h.contains("jdk_tools"));
  EXPECT_FALSE(h.contains("gdbserver"));
  HelloFacts plain = sample().facts;
  plain.perf_event.allowed.reset();
  plain.perf_event.why.reset();
  plain.kernel.reset();
  json p = to_json(plain);
  EXPECT_FALSE(p["perf_event"].contains("allowed"));
  EXPECT_FALSE(p["perf_event"].contains("why"));
  EXPECT_FALSE(p.contains("kernel"));  // uname failed
  auto back = hello_from_json(over_the_wire(p));
  ASSERT_TRUE(back);
  EXPECT_EQ(to_json(*back), p);
}

TEST(HelloContract, AHelloNeedsOnlyItsProtocol) {
  // A stand-in agent (or another version) may say little more.
  auto h = hello_from_json({{"protocol", 1}, {"hostname", "fake-host"}});
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->hostname, "fake-host");
  EXPECT_EQ(h->protocol, 1);
  auto missing = hello_from_json({{"hostname", "x"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "malformed `hello` message from the agent: protocol: missing");
  auto wrong = hello_from_json({{"protocol", 1}, {"hostname", 7}});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, errc::kProtocol);
  EXPECT_EQ(wrong.error().message,
            "malformed `hello` message from the agent: hostname: expected a string, got number");
  EXPECT_EQ(wrong.error().hint, kPeerMismatchHint);
}

TEST(HelloContract, MalformedCapabilitiesNameTheField) {
  json j = to_json(sample());
  j["ptrace"] = "yes";
  auto r = capabilities_from_json(j);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::kProtocol);
  EXPECT_EQ(r.error().message,
            "malformed `capabilities` result from the agent: ptrace: expected a map, got string");
  json p = to_json(sample());
  p["perf_event"]["paranoid"] = "2";
  EXPECT_TRUE(contains(capabilities_from_json(p).error().message,
                       "perf_event.paranoid: expected an integer"));
  json t = to_json(sample());
  t["jdk_tools"]["jfr"] = false;
  EXPECT_TRUE(contains(capabilities_from_json(t).error().message, "jdk_tools.jfr"));
  json u = to_json(sample());
  u["uid"] = -1.5;
  EXPECT_TRUE(contains(capabilities_from_json(u).error().message, "uid: expected an integer"));
  // What `sonde hello` is for may not be missing.
  for (const char* key : {"agent_version", "protocol", "pid", "uid", "ptrace", "perf_event"}) {
    json m = to_json(sample());
    m.erase(key);
    auto e = capabilities_from_json(m);
    ASSERT_FALSE(e) << key;
    EXPECT_TRUE(contains(e.error().message, std::string(key) + ": missing")) << e.error().message;
  }
  json a = to_json(sample());
  a["ptrace"].erase("allowed");
  EXPECT_TRUE(contains(capabilities_from_json(a).error().message, "ptrace.allowed: missing"));
}

TEST(PingContract, RoundTripAndEcho) {
  PingArgs a{json{{"pad", std::string(1000, 'x')}}};
  auto args = ping_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(args);
  EXPECT_EQ(args->echo, a.echo);
  EXPECT_FALSE(to_json(PingArgs{}).contains("echo"));
  EXPECT_FALSE(ping_args_from_json(json::object())->echo);
  EXPECT_EQ(ping_args_from_json(json::array()).error().code, errc::kBadArgs);
  // A null echo comes back as null.
  auto null_echo = ping_args_from_json({{"echo", nullptr}});
  ASSERT_TRUE(null_echo->echo);
  EXPECT_TRUE(null_echo->echo->is_null());

  PingResult r{1700000000123456789, json("x")};
  auto back = ping_result_from_json(over_the_wire(to_json(r)));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->agent_time_ns, 1700000000123456789);
  EXPECT_EQ(back->echo, json("x"));
  EXPECT_EQ(ping_result_from_json({{"echo", 1}}).error().message,
            "malformed `ping` result from the agent: agent_time_ns: missing");
  EXPECT_TRUE(contains(ping_result_from_json({{"agent_time_ns", 1ULL << 63}}).error().message,
                       "out of range"));
}

}  // namespace
}  // namespace sonde
