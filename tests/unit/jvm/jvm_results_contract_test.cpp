// The jvm.* ops' results and events: round trips field for field, malformed
// peer data names the field, required fields are required, and a peer's
// lists and ports stay within bounds.
#include <gtest/gtest.h>

#include "sonde/common/json_read.h"
#include "sonde/jvm/attach_contract.h"
#include "sonde/jvm/jfr_contract.h"
#include "sonde/jvm/jmx_contract.h"
#include "sonde/jvm/list_contract.h"
#include "support/contains.h"
#include "support/wire.h"

namespace sonde::jvm {
namespace {

using sonde::testing::contains;
using sonde::testing::over_the_wire;

JvmInfo sample_jvm() {
  JvmInfo j;
  j.pid = 4242;
  j.hotspot = true;
  j.nspid = 1;
  j.uid = 1000;
  j.user = "app";
  j.command = "java -Xmx64m -jar /opt/app.jar";
  j.main = "/opt/app.jar";
  j.main_kind = "jar";
  j.java_version = "17.0.15";
  j.vm_name = "OpenJDK 64-Bit Server VM";
  j.hsperfdata = true;
  j.uptime_s = 12.5;
  j.start_epoch = 1700000000;
  j.heap.max = "64m";
  j.heap.max_bytes = 64ull << 20;
  j.heap.committed_bytes = 1 << 20;
  j.heap.limit_bytes = 2 << 20;
  j.heap.used_bytes = 512;
  j.listening = {{"127.0.0.1:5005", 5005, "tcp"}};
  j.jdwp = JdwpAgent{"transport=dt_socket,server=y,address=127.0.0.1:5005",
                     "dt_socket",
                     true,
                     false,
                     "127.0.0.1:5005",
                     "127.0.0.1",
                     5005,
                     true};
  j.jmx.enabled = true;
  j.jmx.port = 9010;
  j.jmx.authenticate = false;
  j.container = {true, false, true, true};
  j.attach_socket = true;
  return j;
}

JvmListResult sample_list() {
  JvmListResult r;
  r.jvms.push_back(sample_jvm());
  JvmInfo bare;  // status and stat unreadable, no JDWP agent
  bare.pid = 77;
  r.jvms.push_back(bare);
  r.notes.push_back("pid 77: its memory maps are not readable");
  return r;
}

TEST(JvmListResult, RoundTripFieldForField) {
  json j = to_json(sample_list());
  auto back = jvm_list_result_from_json(over_the_wire(j));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), j);
  ASSERT_EQ(back->jvms.size(), 2u);
  const JvmInfo& a = back->jvms[0];
  EXPECT_EQ(a.nspid, 1);
  EXPECT_EQ(a.heap.used_bytes, 512);
  ASSERT_TRUE(a.jdwp);
  EXPECT_TRUE(a.jdwp->listening);
  EXPECT_EQ(a.jmx.authenticate, false);
  EXPECT_FALSE(a.jmx.ssl);
  EXPECT_DOUBLE_EQ(*a.uptime_s, 12.5);
  EXPECT_FALSE(a.container.same_pid);
  // What was not read stays off the wire; a JVM without JDWP says null.
  json bare = j["jvms"][1];
  for (const char* key : {"nspid", "uid", "user", "uptime_s", "start_epoch"})
    EXPECT_FALSE(bare.contains(key)) << key;
  EXPECT_TRUE(bare["jdwp"].is_null());
  EXPECT_TRUE(bare["heap"].empty());
  EXPECT_FALSE(j["jvms"][0]["jmx"].contains("ssl"));
  EXPECT_FALSE(back->jvms[1].jdwp);
}

TEST(JvmListResult, MalformedNamesTheField) {
  json j = to_json(sample_list());
  j["jvms"][0]["heap"]["used_bytes"] = "lots";
  auto r = jvm_list_result_from_json(j);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::kProtocol);
  EXPECT_EQ(r.error().message,
            "malformed `jvm.list` result from the agent: jvms[0].heap.used_bytes: expected an "
            "integer, got string");
  EXPECT_EQ(r.error().hint, kPeerMismatchHint);
  json d = to_json(sample_list());
  d["jvms"][0]["jdwp"]["server"] = "y";
  EXPECT_TRUE(contains(jvm_list_result_from_json(d).error().message, "jvms[0].jdwp.server"));
  json m = to_json(sample_list());
  m["jvms"][1] = "77";
  EXPECT_TRUE(contains(jvm_list_result_from_json(m).error().message, "jvms[1]: expected a map"));
  json n = to_json(sample_list());
  n["notes"] = {"fine", 3};
  EXPECT_TRUE(contains(jvm_list_result_from_json(n).error().message, "notes[1]"));
}

TEST(JvmListResult, RequiredFieldsAreRequired) {
  EXPECT_EQ(jvm_list_result_from_json({{"notes", json::array()}}).error().message,
            "malformed `jvm.list` result from the agent: jvms: missing");
  json j = to_json(sample_list());
  j["jvms"][0].erase("pid");
  EXPECT_TRUE(contains(jvm_list_result_from_json(j).error().message, "jvms[0].pid: missing"));
}

TEST(JvmListResult, HostileSizesAreRefused) {
  json many = {{"jvms", json::array()}};
  for (size_t i = 0; i <= kMaxJvms; ++i) many["jvms"].push_back({{"pid", i + 1}});
  auto r = jvm_list_result_from_json(many);
  ASSERT_FALSE(r);
  EXPECT_TRUE(contains(r.error().message, "jvms: 4097 items, more than the 4096 allowed"))
      << r.error().message;
  json notes = to_json(sample_list());
  notes["notes"] = std::vector<std::string>(kMaxJvmNotes + 1, "n");
  EXPECT_TRUE(contains(jvm_list_result_from_json(notes).error().message, "notes: 1025 items"));
  json sockets = to_json(sample_list());
  sockets["jvms"][0]["listening"] = json::array();
  for (size_t i = 0; i <= kMaxListening; ++i)
    sockets["jvms"][0]["listening"].push_back(json::object());
  EXPECT_TRUE(
      contains(jvm_list_result_from_json(sockets).error().message, "jvms[0].listening: 65537"));
  json port = to_json(sample_list());
  port["jvms"][0]["jdwp"]["port"] = 70000;
  EXPECT_TRUE(contains(jvm_list_result_from_json(port).error().message,
                       "jvms[0].jdwp.port: 70000 is not a port"));
  json pid = to_json(sample_list());
  pid["jvms"][0]["pid"] = 1ULL << 40;
  EXPECT_TRUE(contains(jvm_list_result_from_json(pid).error().message, "out of range"));
}

TEST(JvmAttachResult, RoundTripAndMalformed) {
  JvmAttachResult a{7, "threads", "Thread.print -l", "\"main\" #1 prio=5\n", 1234};
  json j = to_json(a);
  auto back = jvm_attach_result_from_json(over_the_wire(j));
  ASSERT_TRUE(back);
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->output_more_bytes, 1234u);
  json w = j;
  w["output_more_bytes"] = -1;
  EXPECT_EQ(jvm_attach_result_from_json(w).error().message,
            "malformed `jvm.attach` result from the agent: output_more_bytes: -1 is negative");
  json m = j;
  m.erase("output");
  EXPECT_TRUE(contains(jvm_attach_result_from_json(m).error().message, "output: missing"));
  EXPECT_TRUE(contains(jvm_attach_result_from_json(json::array()).error().message,
                       "expected a map, got array"));
}

TEST(JfrContract, ResultRoundTripAndMalformed) {
  JfrResult r{42, "sonde-1a2b", "profile", 60000, 2500, true, 123456, "/tmp/sonde-42-1a2b.jfr"};
  json j = to_json(r);
  auto back = jfr_result_from_json(over_the_wire(j));
  ASSERT_TRUE(back);
  EXPECT_EQ(to_json(*back), j);
  EXPECT_TRUE(back->stopped_early);
  json m = j;
  m.erase("bytes");
  EXPECT_EQ(jfr_result_from_json(m).error().message,
            "malformed `jvm.jfr` result from the agent: bytes: missing");
  json w = j;
  w["recorded_ms"] = "2.5s";
  EXPECT_TRUE(
      contains(jfr_result_from_json(w).error().message, "recorded_ms: expected an integer"));
}

TEST(JfrContract, EventsRoundTrip) {
  std::vector<uint8_t> bytes = {'F', 'L', 'R', 0, 1, 2};
  for (const JfrEvent& e : {JfrEvent{JfrRecording{3000, 60000}}, JfrEvent{JfrDumping{true}},
                            JfrEvent{JfrStreaming{}}, JfrEvent{JfrChunk{4096, bytes}}}) {
    json wire = over_the_wire(to_json(e));
    auto back = jfr_event_from_json(wire);
    ASSERT_TRUE(back) << back.error().message;
    ASSERT_TRUE(*back);
    EXPECT_EQ((*back)->index(), e.index());
    EXPECT_EQ(to_json(**back), to_json(e));
  }
  json chunk = over_the_wire(to_json(JfrEvent{JfrChunk{4096, bytes}}));
  auto c = jfr_event_from_json(chunk);
  const auto& data = std::get<JfrChunk>(**c).data;
  EXPECT_EQ(std::vector<uint8_t>(data.begin(), data.end()), bytes);
  EXPECT_EQ(std::get<JfrChunk>(**c).offset, 4096u);
  // A phase a newer agent added is passed over.
  auto later = jfr_event_from_json({{"phase", "compressing"}});
  ASSERT_TRUE(later);
  EXPECT_FALSE(*later);
}

TEST(JfrContract, MalformedEventsNameTheField) {
  auto text = jfr_event_from_json({{"phase", "data"}, {"offset", 0}, {"data", "FLR"}});
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message,
            "malformed `jvm.jfr` event from the agent: data: expected bytes, got string");
  EXPECT_TRUE(contains(
      jfr_event_from_json({{"phase", "data"}, {"data", json::binary({1})}}).error().message,
      "offset: missing"));
  EXPECT_TRUE(
      contains(jfr_event_from_json({{"phase", "recording"}, {"elapsed_ms", "1s"}}).error().message,
               "elapsed_ms"));
  EXPECT_TRUE(contains(jfr_event_from_json({{"elapsed_ms", 1}}).error().message, "phase: missing"));
}

JmxStarted sample_started() {
  JmxStarted s;
  s.pid = 11;
  s.port = 9010;
  s.bind = "127.0.0.2";
  s.url = "service:jmx:rmi:///jndi/rmi://localhost:9010/jmxrmi";
  s.user = "sonde";
  s.password = "secret";
  s.password_file = "/tmp/sonde-jmx-11-x/jmxremote.password";
  s.status = "Agent: enabled\n";
  return s;
}

TEST(JmxContract, EachShapeRoundTrips) {
  JmxStarted kept = sample_started();
  kept.kept = true;
  kept.files = "/tmp/sonde-jmx-11-x";
  JmxEnded held;
  held.pid = 11;
  held.stopped = false;
  held.files_removed = true;
  held.jvm_gone = true;
  held.stop_error = "no such process";
  JmxEnded stop_form;
  stop_form.pid = 11;
  stop_form.stopped = true;
  stop_form.output = "Command executed successfully\n";
  for (const JmxResult& r :
       {JmxResult{JmxAlreadyRunning{11, "Agent: enabled\n", "service:jmx:rmi://h:1/x", 1}},
        JmxResult{JmxAlreadyRunning{11, "", "", std::nullopt}}, JmxResult{sample_started()},
        JmxResult{kept}, JmxResult{held}, JmxResult{stop_form}}) {
    json j = to_json(r);
    auto back = jmx_result_from_json(over_the_wire(j));
    ASSERT_TRUE(back) << back.error().message << " " << j.dump();
    EXPECT_EQ(back->index(), r.index());
    EXPECT_EQ(to_json(*back), j);
  }
  // The JSON scripts see, as before.
  json s = to_json(sample_started());
  EXPECT_EQ(s["already_running"], false);
  EXPECT_FALSE(s.contains("kept"));
  EXPECT_EQ(to_json(kept)["files"], "/tmp/sonde-jmx-11-x");
  EXPECT_EQ(to_json(stop_form).size(), 3u);
  EXPECT_FALSE(to_json(JmxAlreadyRunning{1, "", "", std::nullopt}).contains("port"));
}

TEST(JmxContract, StartedEvent) {
  json ev = over_the_wire(started_event_json(sample_started()));
  EXPECT_EQ(ev["event"], "started");
  auto back = jmx_event_from_json(ev);
  ASSERT_TRUE(back);
  ASSERT_TRUE(*back);
  EXPECT_EQ((*back)->password, "secret");
  EXPECT_EQ(to_json(**back), to_json(sample_started()));
  auto other = jmx_event_from_json({{"event", "heartbeat"}});
  ASSERT_TRUE(other);
  EXPECT_FALSE(*other);
  json bad = started_event_json(sample_started());
  bad["port"] = "9010";
  EXPECT_EQ(jmx_event_from_json(bad).error().message,
            "malformed `jvm.jmx` event from the agent: port: expected an integer, got string");
}

TEST(JmxContract, MalformedResultsNameTheField) {
  json s = to_json(sample_started());
  s["port"] = 0x10000;
  EXPECT_TRUE(contains(jmx_result_from_json(s).error().message, "port: 65536 is not a port"));
  json e = {{"pid", 11}, {"files_removed", true}};
  EXPECT_EQ(jmx_result_from_json(e).error().message,
            "malformed `jvm.jmx` result from the agent: stopped: missing");
  json w = {{"pid", 11}, {"stopped", true}, {"stop_error", 5}};
  EXPECT_TRUE(contains(jmx_result_from_json(w).error().message, "stop_error: expected a string"));
  json a = {{"pid", 11}, {"already_running", "yes"}};
  EXPECT_TRUE(
      contains(jmx_result_from_json(a).error().message, "already_running: expected a boolean"));
  json r = {{"already_running", true}};
  EXPECT_TRUE(contains(jmx_result_from_json(r).error().message, "pid: missing"));
}

}  // namespace
}  // namespace sonde::jvm
