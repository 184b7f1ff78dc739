// The `gdbserver` op's contract (sonde debug): args, events and result
// survive the wire, validate() judges a request, and a malformed peer
// document is an error naming the field.
#include <gtest/gtest.h>

#include "sonde/common/json_read.h"
#include "sonde/ptrace/debug_contract.h"
#include "support/contains.h"
#include "support/wire.h"

namespace sonde::ptrace {
namespace {

using sonde::testing::contains;
using sonde::testing::over_the_wire;

TEST(DebugContract, ArgsRoundTripValidateAndMalformed) {
  auto back = debug_args_from_json(over_the_wire(to_json(DebugArgs{4242, true})));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, 4242);
  EXPECT_TRUE(back->sudo);
  EXPECT_TRUE(validate(*back));
  EXPECT_TRUE(contains(validate(DebugArgs{0, false}).error().message, "-p 0"));
  EXPECT_EQ(debug_args_from_json(json::object()).error().message,
            "bad `gdbserver` arguments: pid: missing");
  EXPECT_TRUE(contains(debug_args_from_json({{"pid", 1}, {"sudo", 1}}).error().message,
                       "sudo: expected a boolean"));
}

TEST(DebugContract, EventsRoundTrip) {
  for (const DebugEvent& e :
       {DebugEvent{DebugListening{"/tmp/sonde-gdb-x/gdb.sock", "/usr/bin/gdbserver"}},
        DebugEvent{DebuggerConnected{4321, true}},
        DebugEvent{DebuggerEnded{"exited with status 0", "Detaching from process 7", 'S'}}}) {
    json j = to_json(e);
    auto back = debug_event_from_json(over_the_wire(j));
    ASSERT_TRUE(back) << back.error().message;
    ASSERT_TRUE(*back);
    EXPECT_EQ((*back)->index(), e.index());
    EXPECT_EQ(to_json(**back), j);
  }
  // The wire names, as before.
  json ended = to_json(DebugEvent{DebuggerEnded{"killed by signal 9", "bye", 'T'}});
  EXPECT_EQ(ended["debugger"], "ended");
  EXPECT_EQ(ended["stderr"], "bye");
  EXPECT_EQ(ended["process_state"], "T");
  EXPECT_EQ(to_json(DebugEvent{DebugListening{"/s", "/g"}})["listening"], "/s");
  // An event a newer agent added is passed over.
  auto later = debug_event_from_json({{"debugger", "paused"}});
  ASSERT_TRUE(later);
  EXPECT_FALSE(*later);
}

TEST(DebugContract, MalformedEventsNameTheField) {
  auto r = debug_event_from_json({{"listening", 5}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::kProtocol);
  EXPECT_EQ(r.error().message,
            "malformed `gdbserver` event from the agent: listening: expected a string, got number");
  EXPECT_EQ(r.error().hint, kPeerMismatchHint);
  EXPECT_TRUE(contains(
      debug_event_from_json({{"debugger", "connected"}, {"gdbserver_pid", "7"}}).error().message,
      "gdbserver_pid"));
  EXPECT_TRUE(contains(
      debug_event_from_json({{"debugger", "ended"}, {"process_state", "SS"}}).error().message,
      "process_state: expected one letter"));
}

TEST(DebugContract, ResultRoundTripAndMalformed) {
  DebugResult r;
  r.pid = 7;
  r.socket = "/tmp/sonde-gdb-x/gdb.sock";
  r.debuggers = 2;
  r.continued = 1;
  r.process_state = 'S';
  r.tracer = "";
  json j = to_json(r);
  auto back = debug_result_from_json(over_the_wire(j));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->continued, 1);
  EXPECT_EQ(back->tracer, "");
  DebugResult gone = r;
  gone.process_state = '?';
  gone.process_gone = true;
  gone.tracer.reset();
  json g = to_json(gone);
  EXPECT_FALSE(g.contains("tracer"));
  EXPECT_EQ(g["process_state"], "?");
  EXPECT_EQ(to_json(*debug_result_from_json(g)), g);

  json m = j;
  m.erase("process_state");
  EXPECT_EQ(debug_result_from_json(m).error().message,
            "malformed `gdbserver` result from the agent: process_state: missing");
  json w = j;
  w["debuggers"] = "two";
  EXPECT_TRUE(
      contains(debug_result_from_json(w).error().message, "debuggers: expected an integer"));
  json p = j;
  p.erase("pid");
  EXPECT_TRUE(contains(debug_result_from_json(p).error().message, "pid: missing"));
}

}  // namespace
}  // namespace sonde::ptrace
