// The `ps` and `inspect` ops' contracts: args and results survive the wire,
// validate() judges a request, malformed peer data names the field.
#include <gtest/gtest.h>

#include "sonde/common/json_read.h"
#include "sonde/proc/inspect_contract.h"
#include "sonde/proc/ps_contract.h"
#include "support/contains.h"
#include "support/wire.h"

namespace sonde::proc {
namespace {

using sonde::testing::contains;
using sonde::testing::over_the_wire;

TEST(PsContract, ArgsRoundTrip) {
  PsArgs a{"postgres", "^java", "mem", 250, 10};
  auto back = ps_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->user, "postgres");
  EXPECT_EQ(back->name, "^java");
  EXPECT_EQ(back->sort, "mem");
  EXPECT_EQ(back->interval_ms, 250);
  EXPECT_EQ(back->limit, 10);
  // Empty filters stay off the wire, as before.
  json j = to_json(PsArgs{});
  EXPECT_FALSE(j.contains("user"));
  EXPECT_FALSE(j.contains("name"));
}

TEST(PsContract, ValidateRefusesBadIntervalLimitAndSort) {
  EXPECT_TRUE(validate(PsArgs{}));
  PsArgs a;
  a.interval_ms = kMaxPsIntervalMs + 1;
  auto st = validate(a);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, errc::kBadArgs);
  EXPECT_TRUE(contains(st.error().message, "--interval"));
  EXPECT_FALSE(st.error().hint.empty());
  a.interval_ms = 0;
  a.limit = -1;
  EXPECT_TRUE(contains(validate(a).error().message, "--limit"));
  a.limit = 0;
  a.sort = "age";
  EXPECT_TRUE(contains(validate(a).error().message, "unknown sort key `age`"));
}

TEST(PsContract, MalformedArgsNameTheField) {
  auto r = ps_args_from_json({{"interval_ms", "soon"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::kBadArgs);
  EXPECT_EQ(r.error().message, "bad `ps` arguments: interval_ms: expected an integer, got string");
  EXPECT_TRUE(contains(ps_args_from_json({{"user", 0}}).error().message, "user"));
}

PsResult sample() {
  PsResult r;
  r.interval_ms = 100;
  r.cpu_source = "schedstat";
  r.total = 300;
  r.shown = 1;
  r.more = 299;
  r.cmdlines_cut = 1;
  r.mem_total_kb = 1 << 20;
  PsRow row;
  row.pid = 42;
  row.ppid = 1;
  row.user = "root";
  row.uid = 0;
  row.state = 'S';
  row.cpu_pct = 12.5;
  row.rss_kb = 2048;
  row.mem_pct = 0.2;
  row.threads = 3;
  row.start_time = 1700000000;
  row.comm = "java";
  row.cmdline = "java -jar x.jar";
  row.cmdline_more_bytes = 10;
  r.processes.push_back(row);
  return r;
}

TEST(PsContract, ResultRoundTrip) {
  auto back = ps_result_from_json(over_the_wire(to_json(sample())));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->cpu_source, "schedstat");
  EXPECT_EQ(back->total, 300u);
  EXPECT_EQ(back->more, 299u);
  ASSERT_EQ(back->processes.size(), 1u);
  const PsRow& p = back->processes[0];
  EXPECT_EQ(p.pid, 42);
  EXPECT_EQ(p.user, "root");
  EXPECT_EQ(p.state, 'S');
  EXPECT_DOUBLE_EQ(p.cpu_pct, 12.5);
  EXPECT_EQ(p.rss_kb, 2048u);
  EXPECT_EQ(p.start_time, 1700000000);
  EXPECT_EQ(p.cmdline, "java -jar x.jar");
  EXPECT_EQ(p.cmdline_more_bytes, 10u);
  // A row without a cut command line says nothing about it on the wire.
  PsRow whole;
  EXPECT_FALSE(to_json(whole).contains("cmdline_more_bytes"));
}

TEST(PsContract, MalformedResultNamesTheField) {
  json j = to_json(sample());
  j["processes"][0]["cpu_pct"] = "high";
  auto r = ps_result_from_json(j);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::kProtocol);
  EXPECT_EQ(r.error().message,
            "malformed `ps` result from the agent: processes[0].cpu_pct: expected a number, got "
            "string");
  EXPECT_EQ(r.error().hint, kPeerMismatchHint);
  json s = to_json(sample());
  s["processes"][0]["state"] = "SS";
  EXPECT_TRUE(contains(ps_result_from_json(s).error().message, "processes[0].state"));
  json h = to_json(sample());
  h["processes"][0]["pid"] = 1ULL << 40;
  EXPECT_TRUE(contains(ps_result_from_json(h).error().message, "out of range"));
  json m = to_json(sample());
  m["processes"] = {{{"pid", 1}}, 2};
  EXPECT_TRUE(contains(ps_result_from_json(m).error().message, "processes[1]: expected a map"));
}

TEST(InspectContract, ArgsRoundTripValidateAndMalformed) {
  InspectArgs a{77, true};
  auto back = inspect_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, 77);
  EXPECT_TRUE(back->env);
  EXPECT_TRUE(validate(a));
  auto zero = validate(InspectArgs{0, false});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, errc::kBadArgs);
  EXPECT_TRUE(contains(zero.error().message, "-p 0 is not a process id"));
  EXPECT_EQ(inspect_args_from_json(json::object()).error().message,
            "bad `inspect` arguments: pid: missing");
  EXPECT_TRUE(contains(inspect_args_from_json({{"pid", 1}, {"env", "yes"}}).error().message,
                       "env: expected a boolean"));
}

}  // namespace
}  // namespace sonde::proc
