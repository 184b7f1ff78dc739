// The agent against a real client over pipes: hello, requests in flight,
// events, cancel, shutdown on EOF, and every kind of bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "agent_client.h"

namespace sonde::testing {
namespace {

json hello_of(AgentClient& a) {
  auto h = a.recv();
  if (!h) return nullptr;
  return *h;
}

TEST(AgentProtocol, HelloReportsVersionsAndCapabilities) {
  AgentClient a;
  ASSERT_TRUE(a.started());
  json h = hello_of(a);
  ASSERT_TRUE(h.is_object());
  EXPECT_EQ(h["kind"], "hello");
  EXPECT_EQ(h["id"], 0);
  const json& d = h["data"];
  EXPECT_EQ(d["protocol"], kProtocolVersion);
  EXPECT_EQ(d["agent_version"], kSondeVersion);
  EXPECT_EQ(d["arch"], "x86_64");
  EXPECT_EQ(d["uid"], ::getuid());
  EXPECT_EQ(d["euid"], ::geteuid());
  EXPECT_TRUE(d["kernel"].get<std::string>().rfind("Linux ", 0) == 0);
  EXPECT_TRUE(d["ptrace"]["allowed"].is_boolean());
  EXPECT_TRUE(d["ptrace"].contains("yama_ptrace_scope"));
  EXPECT_TRUE(d["perf_event"].contains("paranoid"));
  EXPECT_TRUE(d["cap_net_raw"].is_boolean());
  // Only cheap reads in the hello: the tried and searched-for facts come
  // from the `capabilities` op.
  EXPECT_FALSE(d.contains("jdk_tools"));
  EXPECT_FALSE(d["perf_event"].contains("allowed"));
  auto paranoid = read_file("/proc/sys/kernel/perf_event_paranoid");
  if (paranoid.ok()) {
    EXPECT_EQ(d["perf_event"]["paranoid"], std::stol(*paranoid));
  }
  if (::geteuid() == 0) {
    EXPECT_TRUE(d["cap_net_raw"].get<bool>());
  }
}

TEST(AgentProtocol, CapabilitiesOpAddsWhatMustBeTried) {
  AgentClient a;
  json h = hello_of(a);
  ASSERT_TRUE(h.is_object());
  ASSERT_TRUE(a.send(make_request(1, "capabilities", json::object())));
  auto r = a.recv_final(1, 5000);
  ASSERT_TRUE(r);
  ASSERT_EQ((*r)["kind"], "result") << r->dump();
  const json& d = (*r)["data"];
  // The hello's facts, unchanged, plus the probes.
  for (const char* k : {"agent_version", "protocol", "kernel", "uid", "euid", "ptrace"})
    EXPECT_EQ(d[k], h["data"][k]) << k;
  EXPECT_TRUE(d["perf_event"]["allowed"].is_boolean());
  EXPECT_EQ(d["perf_event"]["paranoid"], h["data"]["perf_event"]["paranoid"]);
  if (!d["perf_event"]["allowed"].get<bool>()) {
    EXPECT_TRUE(d["perf_event"]["why"].is_string());
  }
  EXPECT_TRUE(d["jdk_tools"].contains("jcmd"));
  EXPECT_TRUE(d["jdk_tools"].contains("java"));
  EXPECT_TRUE(d.contains("gdbserver"));
}

TEST(AgentProtocol, SeveralRequestsInFlightAnswerIndependently) {
  AgentClient a;
  ASSERT_TRUE(hello_of(a).is_object());
  // A slow ps (2 s interval) and a ping: the ping must not wait for the ps.
  ASSERT_TRUE(a.send(make_request(1, "ps", {{"interval_ms", 2000}, {"limit", 1}})));
  ASSERT_TRUE(a.send(make_request(2, "ping", {{"echo", "x"}})));
  long t0 = mono_ms();
  auto pong = a.recv_final(2, 1500);
  ASSERT_TRUE(pong);
  EXPECT_EQ((*pong)["kind"], "result");
  EXPECT_EQ((*pong)["data"]["echo"], "x");
  EXPECT_LT(mono_ms() - t0, 1500);
  std::vector<json> events;
  for (auto& m : a.pending_)
    if (m["id"] == 1 && m["kind"] == "event") events.push_back(m);
  auto ps = a.recv_final(1, 5000, &events);
  ASSERT_TRUE(ps);
  EXPECT_EQ((*ps)["kind"], "result");
  EXPECT_EQ((*ps)["data"]["shown"], 1);
  // ps streams a progress event before its result.
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["data"]["phase"], "sampling");
}

TEST(AgentProtocol, CancelEndsARequestWithACancelledError) {
  AgentClient a;
  ASSERT_TRUE(hello_of(a).is_object());
  ASSERT_TRUE(a.send(make_request(5, "ps", {{"interval_ms", 30000}})));
  ::usleep(100 * 1000);
  long t0 = mono_ms();
  ASSERT_TRUE(a.send(make_cancel(5)));
  auto m = a.recv_final(5, 3000);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["kind"], "error");
  EXPECT_EQ((*m)["code"], "cancelled");
  EXPECT_LT(mono_ms() - t0, 1000);
}

TEST(AgentProtocol, StdinClosedMidRequestExitsWithinOneSecond) {
  AgentClient a;
  ASSERT_TRUE(hello_of(a).is_object());
  ASSERT_TRUE(a.send(make_request(1, "ps", {{"interval_ms", 30000}})));
  ::usleep(100 * 1000);
  long t0 = mono_ms();
  a.close_stdin();
  auto st = a.wait_exit(1000);
  ASSERT_TRUE(st) << "agent still running 1 s after EOF";
  EXPECT_LT(mono_ms() - t0, 1000);
  EXPECT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 0);
}

TEST(AgentProtocol, UnknownOpIsAnErrorAndTheAgentKeepsServing) {
  AgentClient a;
  ASSERT_TRUE(hello_of(a).is_object());
  ASSERT_TRUE(a.send(make_request(3, "format_disk", json::object())));
  auto m = a.recv_final(3);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["kind"], "error");
  EXPECT_EQ((*m)["code"], "unknown_op");
  EXPECT_NE((*m)["hint"].get<std::string>().find("ps"), std::string::npos);
  ASSERT_TRUE(a.send(make_request(4, "ping", json::object())));
  auto p = a.recv_final(4);
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)["kind"], "result");
}

TEST(AgentProtocol, WrongFieldTypesGetErrorsAndTheAgentKeepsServing) {
  AgentClient a;
  ASSERT_TRUE(hello_of(a).is_object());
  // Message shape wrong: args is a list.
  ASSERT_TRUE(a.send({{"id", 6u}, {"kind", "request"}, {"op", "ps"}, {"args", {1, 2}}}));
  auto m = a.recv_final(6);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["code"], "protocol");
  // Argument of the wrong type for the op.
  ASSERT_TRUE(a.send(make_request(7, "ps", {{"interval_ms", "soon"}})));
  m = a.recv_final(7);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["code"], "bad_args");
  EXPECT_NE((*m)["message"].get<std::string>().find("interval_ms"), std::string::npos);
  // Unknown pid for inspect.
  ASSERT_TRUE(a.send(make_request(8, "inspect", {{"pid", 999999999}})));
  m = a.recv_final(8);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["code"], "not_found");
  // Still alive.
  ASSERT_TRUE(a.send(make_request(9, "ping", json::object())));
  m = a.recv_final(9);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["kind"], "result");
}

TEST(AgentProtocol, BytesThatAreNotMsgpackCloseTheStreamWithAnError) {
  AgentClient a;
  ASSERT_TRUE(hello_of(a).is_object());
  ASSERT_TRUE(a.send_raw(std::string("\x00\x00\x00\x04\xc1\xc1\xc1\xc1", 8)));
  auto m = a.recv();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["kind"], "error");
  EXPECT_EQ((*m)["id"], 0);
  EXPECT_EQ((*m)["code"], "protocol");
  auto st = a.wait_exit(2000);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st)) << "agent crashed";
}

TEST(AgentProtocol, LengthOverTheLimitIsRefusedWithoutAllocatingIt) {
  AgentClient a;
  ASSERT_TRUE(hello_of(a).is_object());
  long before = a.rss_kb();
  ASSERT_TRUE(a.send_raw(std::string("\x7f\xff\xff\xff", 4) + std::string(1000, 'x')));
  auto m = a.recv();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["code"], "protocol");
  EXPECT_NE((*m)["message"].get<std::string>().find("limit"), std::string::npos);
  long after = a.rss_kb();
  if (before > 0 && after > 0) {
    EXPECT_LT(after - before, 8 * 1024);
  }
  auto st = a.wait_exit(2000);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st));
}

TEST(AgentProtocol, TruncatedFrameThenEofExitsCleanly) {
  AgentClient a;
  ASSERT_TRUE(hello_of(a).is_object());
  std::string f = encode_frame(make_request(1, "ping", json::object())).value();
  ASSERT_TRUE(a.send_raw(f.substr(0, f.size() / 2)));
  a.close_stdin();
  auto st = a.wait_exit(1500);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st));
}

TEST(AgentProtocol, LogsNeverReachStdout) {
  // With -v the agent logs at info level: all of it must go to stderr, and
  // the stdout stream must still be nothing but frames.
  AgentClient a({std::string(SONDE_BIN_DIR) + "/sonde-agent", "serve", "-v"});
  ASSERT_TRUE(hello_of(a).is_object());
  ASSERT_TRUE(a.send(make_request(1, "ps", {{"interval_ms", 0}, {"limit", 2}})));
  auto m = a.recv_final(1);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["kind"], "result");
  a.close_stdin();
  EXPECT_TRUE(a.at_eof(2000));
}

TEST(AgentProtocol, SigtermShutsDownCleanly) {
  AgentClient a;
  ASSERT_TRUE(hello_of(a).is_object());
  ASSERT_TRUE(a.send(make_request(1, "ps", {{"interval_ms", 30000}})));
  ::usleep(100 * 1000);
  ::kill(a.pid(), SIGTERM);
  auto m = a.recv_final(1, 2000);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["code"], "cancelled");
  auto st = a.wait_exit(1500);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st));
}

}  // namespace
}  // namespace sonde::testing
