// The `trace` op's contract: args and result survive JSON and MessagePack,
// validate() is the one judge of a request, and a malformed peer document
// is an error naming the field.
#include <gtest/gtest.h>

#include "sonde/ptrace/trace_contract.h"
#include "support/contains.h"
#include "support/wire.h"

namespace sonde::ptrace {
namespace {

using sonde::testing::contains;
using sonde::testing::over_the_wire;

TEST(TraceContract, ArgsRoundTrip) {
  TraceArgs a;
  a.pids = {12, 34};
  a.follow_forks = true;
  a.filter = "%network,!connect";
  a.failed_only = true;
  a.summary_only = true;
  a.string_limit = 200;
  a.annotate_fds = true;
  a.duration_ms = 1500;
  a.seccomp = false;
  a.colocate = true;
  a.structured = false;
  auto back = trace_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->pids, a.pids);
  EXPECT_TRUE(back->argv.empty());
  EXPECT_TRUE(back->follow_forks);
  EXPECT_EQ(back->filter, a.filter);
  EXPECT_TRUE(back->failed_only);
  EXPECT_TRUE(back->summary_only);
  EXPECT_EQ(back->string_limit, 200);
  EXPECT_TRUE(back->annotate_fds);
  EXPECT_EQ(back->duration_ms, 1500);
  EXPECT_FALSE(back->seccomp);
  EXPECT_TRUE(back->colocate);
  EXPECT_FALSE(back->structured);

  TraceArgs l;
  l.argv = {"/bin/true", "x"};
  auto lb = trace_args_from_json(to_json(l));
  ASSERT_TRUE(lb);
  EXPECT_EQ(lb->argv, l.argv);
  EXPECT_TRUE(lb->pids.empty());
}

TEST(TraceContract, ArgsKeepTheWireNamesAnOlderAgentReads) {
  TraceArgs a;
  a.pids = {1};
  json j = to_json(a);
  for (const char* k : {"pids", "follow_forks", "failed_only", "summary_only", "string_limit",
                        "annotate_fds", "duration_ms", "seccomp", "colocate", "structured"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_TRUE(j["pids"].is_array());
  EXPECT_TRUE(j["string_limit"].is_number_integer());
}

TEST(TraceContract, ValidateRefusesConflictsAndRanges) {
  TraceArgs none;
  auto st = validate(none);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, errc::kBadArgs);
  EXPECT_TRUE(contains(st.error().message, "nothing to trace")) << st.error().message;
  EXPECT_FALSE(st.error().hint.empty());

  TraceArgs both;
  both.pids = {1};
  both.argv = {"ls"};
  EXPECT_TRUE(contains(validate(both).error().message, "not both"));

  TraceArgs a;
  a.pids = {1};
  EXPECT_TRUE(validate(a));
  a.string_limit = -1;
  EXPECT_TRUE(contains(validate(a).error().message, "-s -1 is out of range"));
  a.string_limit = kMaxStringLimit + 1;
  EXPECT_FALSE(validate(a));
  a.string_limit = 32;
  a.duration_ms = kMaxTraceDurationMs + 1;
  EXPECT_TRUE(contains(validate(a).error().message, "--duration"));
  a.duration_ms = 0;
  a.pids = {0};
  EXPECT_TRUE(contains(validate(a).error().message, "-p 0 is not a process id"));

  TraceArgs empty_cmd;
  empty_cmd.argv = {""};
  EXPECT_TRUE(contains(validate(empty_cmd).error().message, "empty"));
}

TEST(TraceContract, MalformedArgsNameTheField) {
  auto r = trace_args_from_json({{"pids", {1, "2"}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::kBadArgs);
  EXPECT_EQ(r.error().message, "bad `trace` arguments: pids[1]: expected an integer, got string");
  auto huge = trace_args_from_json({{"pids", {1ULL << 40}}});
  ASSERT_FALSE(huge);
  EXPECT_TRUE(contains(huge.error().message, "pids[0]: 1099511627776 is out of range"));
  auto s = trace_args_from_json({{"string_limit", "lots"}});
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message, "string_limit"));
  EXPECT_FALSE(trace_args_from_json(json::array()));
}

TraceResult sample_result() {
  TraceResult r;
  r.mode = "launch";
  r.duration_ms = 12;
  r.syscalls = {{"read", 0, 10, 1, 500}, {"write", 1, 4, 0, 100}};
  r.total = {14, 1, 600};
  r.per_process = {{100, {{"read", 0, 10, 1, 500}}, {10, 1, 500}},
                   {101, {{"write", 1, 4, 0, 100}}, {4, 0, 100}}};
  r.seccomp = true;
  r.stopped = "exited";
  r.exit_code = 3;
  r.notes = {"a note"};
  r.events_lost = 5;
  r.cancelled = true;
  return r;
}

TEST(TraceContract, ResultRoundTrip) {
  TraceResult r = sample_result();
  auto back = trace_result_from_json(over_the_wire(to_json(r)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->mode, "launch");
  EXPECT_EQ(back->duration_ms, 12u);
  ASSERT_EQ(back->syscalls.size(), 2u);
  EXPECT_EQ(back->syscalls[1].name, "write");
  EXPECT_EQ(back->syscalls[1].nr, 1);
  EXPECT_EQ(back->syscalls[0].errors, 1u);
  EXPECT_EQ(back->total.time_ns, 600u);
  ASSERT_EQ(back->per_process.size(), 2u);
  EXPECT_EQ(back->per_process[1].pid, 101);
  EXPECT_EQ(back->per_process[1].total.calls, 4u);
  EXPECT_TRUE(back->seccomp);
  EXPECT_EQ(back->stopped, "exited");
  ASSERT_TRUE(back->exit_code);
  EXPECT_EQ(*back->exit_code, 3);
  EXPECT_EQ(back->notes, r.notes);
  EXPECT_EQ(back->events_lost, 5u);
  EXPECT_TRUE(back->cancelled);
  // Absent optional fields stay absent on the wire.
  TraceResult attach;
  attach.mode = "attach";
  json j = to_json(attach);
  EXPECT_FALSE(j.contains("exit_code"));
  EXPECT_FALSE(j.contains("killed_by"));
  EXPECT_FALSE(j.contains("cancelled"));
  EXPECT_FALSE(trace_result_from_json(j)->exit_code);
}

TEST(TraceContract, MalformedResultNamesTheField) {
  json j = to_json(sample_result());
  j["per_process"][1]["total"]["calls"] = "many";
  auto r = trace_result_from_json(j);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::kProtocol);
  EXPECT_TRUE(contains(r.error().message, "malformed `trace` result from the agent"));
  EXPECT_TRUE(contains(r.error().message, "per_process[1].total.calls: expected an integer"))
      << r.error().message;
  EXPECT_FALSE(r.error().hint.empty());

  json k = to_json(sample_result());
  k["exit_code"] = 1ULL << 40;
  EXPECT_TRUE(contains(trace_result_from_json(k).error().message, "exit_code"));
  json n = to_json(sample_result());
  n["notes"] = "not a list";
  EXPECT_TRUE(contains(trace_result_from_json(n).error().message, "notes: expected an array"));
  json m = to_json(sample_result());
  m["syscalls"][0] = 7;
  EXPECT_TRUE(contains(trace_result_from_json(m).error().message, "syscalls[0]: expected a map"));
}

TEST(TraceContract, CapKeepsTheBusiestProcessesAndCountsTheRest) {
  TraceResult r;
  for (int i = 0; i < 1200; ++i) r.per_process.push_back({i + 1, {}, {1, 0, uint64_t(i)}});
  for (int i = 0; i < 250; ++i) r.notes.push_back("n");
  cap_trace_result(r);
  ASSERT_EQ(r.per_process.size(), 1000u);
  EXPECT_EQ(r.per_process_more, 200u);
  EXPECT_EQ(r.per_process[0].pid, 1200);  // the most syscall time first
  ASSERT_EQ(r.notes.size(), 201u);
  EXPECT_EQ(r.notes.back(), "… 50 more notes");
}

}  // namespace
}  // namespace sonde::ptrace
