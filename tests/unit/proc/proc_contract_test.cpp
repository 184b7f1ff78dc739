// The `ps` and `inspect` ops' contracts: args and results survive the wire,
// validate() judges a request, malformed peer data names the field, and a
// peer's hostile sizes are refused.
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
  EXPECT_FALSE(back->hide_sonde);
  // Empty filters stay off the wire, as before.
  json j = to_json(PsArgs{});
  EXPECT_FALSE(j.contains("user"));
  EXPECT_FALSE(j.contains("name"));
  EXPECT_FALSE(j.contains("hide_sonde"));
  a.hide_sonde = true;
  back = ps_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(back->hide_sonde);
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
  PsResult hid = sample();
  hid.sonde_hidden = 2;
  auto hid_back = ps_result_from_json(over_the_wire(to_json(hid)));
  ASSERT_TRUE(hid_back) << hid_back.error().message;
  EXPECT_EQ(hid_back->sonde_hidden, 2u);
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

TEST(PsContract, MissingFieldsKeepTheirDefaults) {
  auto r = ps_result_from_json({{"processes", {{{"pid", 3}}}}});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->processes.size(), 1u);
  EXPECT_EQ(r->processes[0].pid, 3);
  EXPECT_EQ(r->processes[0].state, '?');
  EXPECT_TRUE(contains(ps_result_from_json(json::array()).error().message, "expected a map"));
}

InspectResult inspect_sample() {
  InspectResult r;
  r.pid = 4242;
  r.comm = "java";
  r.ppid = 1;
  r.state = 'S';
  r.state_name = "sleeping";
  r.start_time = 1700000000;
  r.exe = "/usr/bin/java";
  r.cwd = "/srv";
  r.root = "/";
  r.cmdline = {"java", "-jar", "app.jar"};
  r.user = "app";
  r.group = "app";
  r.uid = IdSet{1000, 1000, 1000, 1000};
  r.gid = IdSet{1000, 0, 1000, 1000};
  r.threads = {{4242, "java", 'S', "futex_wait"}, {4243, "GC", 'R', ""}};
  r.threads_more = 2;
  r.limits = std::vector<Limit>{{"Max open files", "1024", "4096", "files"}};
  r.memory.rss = 1234;
  r.memory.pss = 800;
  r.memory.vm_size = 99999;
  r.cgroup = {"0::/app.service"};
  r.namespaces = {{"net", 4026531840u, false}, {"uts", std::nullopt, true}};
  FdEntry file{3, "file", "/etc/hosts", "O_RDONLY", 12, std::nullopt};
  FdEntry tcp{4, "socket", "socket:[77]", "O_RDWR", 0, std::nullopt};
  tcp.socket = SocketInfo{"tcp", "127.0.0.1:8080", "127.0.0.1:5000", "ESTABLISHED", "", 77};
  FdEntry unix_fd{5, "socket", "socket:[78]", std::nullopt, std::nullopt, std::nullopt};
  unix_fd.socket = SocketInfo{"unix", "/run/x.sock", "", "UNCONN", "dgram", 78};
  FdEntry unknown{6, "socket", "socket:[79]", std::nullopt, std::nullopt, std::nullopt};
  unknown.socket = SocketInfo{kUnknownSocket, "", "", "", "", 79};
  r.fds = {file, tcp, unix_fd, unknown};
  r.fds_more = 7;
  r.env = std::vector<std::string>{"A=1"};
  r.notes = {"threads: 10002, showing the first 10000"};
  return r;
}

TEST(InspectContract, ResultRoundTrip) {
  json sent = to_json(inspect_sample());
  auto back = inspect_result_from_json(over_the_wire(sent));
  ASSERT_TRUE(back) << back.error().message;
  // Field for field: what the controller prints with --json is what the
  // agent sent.
  EXPECT_EQ(to_json(*back), sent);
  EXPECT_EQ(back->state, 'S');
  EXPECT_EQ(back->uid->saved, 1000);
  EXPECT_EQ(back->gid->effective, 0);
  ASSERT_EQ(back->threads.size(), 2u);
  EXPECT_EQ(back->threads[1].state, 'R');
  EXPECT_EQ(back->memory.rss, 1234u);
  EXPECT_FALSE(back->memory.swap);
  EXPECT_EQ(back->namespaces[0].inode, 4026531840u);
  EXPECT_FALSE(back->namespaces[1].inode);
  ASSERT_EQ(back->fds.size(), 4u);
  EXPECT_EQ(back->fds[0].pos, 12);
  EXPECT_EQ(back->fds[1].socket->peer, "127.0.0.1:5000");
  EXPECT_EQ(back->fds[2].socket->type, "dgram");
  EXPECT_FALSE(back->fds[2].flags);
  EXPECT_EQ(back->fds[3].socket->inode, 79u);
  EXPECT_EQ(back->fds_more, 7u);
  EXPECT_EQ(back->env, std::vector<std::string>{"A=1"});

  // What was not read stays off the wire, as before.
  json unix_sock = sent["fds"][2]["socket"];
  EXPECT_EQ(unix_sock["path"], "/run/x.sock");
  EXPECT_FALSE(unix_sock.contains("peer"));
  EXPECT_EQ(sent["fds"][3]["socket"], (json{{"proto", "unknown"}, {"inode", 79}}));
  InspectResult bare;
  bare.pid = 7;
  bare.comm = "kworker";
  json b = to_json(bare);
  for (const char* absent :
       {"ppid", "state", "exe", "cwd", "user", "uid", "threads_more", "limits", "env"})
    EXPECT_FALSE(b.contains(absent)) << absent;
  EXPECT_EQ(b["memory"], json::object());
  auto bare_back = inspect_result_from_json(over_the_wire(b));
  ASSERT_TRUE(bare_back) << bare_back.error().message;
  EXPECT_EQ(to_json(*bare_back), b);
}

// An fd list that could not be read is no list on the wire: "fds_error" says
// why, and "denied" what was refused, why and the next step.
TEST(InspectContract, UnreadableFdsAndRefusedPartsRoundTrip) {
  InspectResult r;
  r.pid = 7;
  r.comm = "sleep";
  r.fds_error = "permission denied on pid 7: it runs as root (uid 0), the agent as nobody";
  r.denied = AccessDenied{*r.fds_error, "rerun with --sudo", {"exe", "open files"}};
  json sent = to_json(r);
  EXPECT_FALSE(sent.contains("fds"));
  EXPECT_FALSE(sent.contains("fds_more"));
  EXPECT_EQ(sent["fds_error"], *r.fds_error);
  auto back = inspect_result_from_json(over_the_wire(sent));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), sent);
  EXPECT_EQ(back->fds_error, r.fds_error);
  ASSERT_TRUE(back->denied);
  EXPECT_EQ(back->denied->hint, "rerun with --sudo");
  EXPECT_EQ(back->denied->parts, (std::vector<std::string>{"exe", "open files"}));
  // A denial without its message is malformed.
  sent["denied"].erase("message");
  auto bad = inspect_result_from_json(over_the_wire(sent));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("denied"), std::string::npos) << bad.error().message;
}

TEST(InspectContract, MalformedResultNamesTheField) {
  auto fails = [](json j) {
    auto r = inspect_result_from_json(j);
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().code, errc::kProtocol);
      EXPECT_EQ(r.error().hint, kPeerMismatchHint);
      return r.error().message;
    }
    return std::string();
  };
  json j = to_json(inspect_sample());
  j["threads"][1]["tid"] = "4243";
  EXPECT_EQ(fails(j),
            "malformed `inspect` result from the agent: threads[1].tid: expected an integer, got "
            "string");
  j = to_json(inspect_sample());
  j["fds"][1]["socket"]["inode"] = -1;
  EXPECT_TRUE(contains(fails(j), "fds[1].socket.inode: -1 is negative"));
  j = to_json(inspect_sample());
  j["memory"]["pss_kb"] = 1.5;
  EXPECT_TRUE(contains(fails(j), "memory.pss_kb: expected an integer"));
  j = to_json(inspect_sample());
  j["uid"].erase("fs");
  EXPECT_TRUE(contains(fails(j), "uid.fs: missing"));
  j = to_json(inspect_sample());
  j["state"] = "sleeping";
  EXPECT_TRUE(contains(fails(j), "state: expected one letter"));
  j = to_json(inspect_sample());
  j["env"] = "A=1";
  EXPECT_TRUE(contains(fails(j), "env: expected an array"));
  j = to_json(inspect_sample());
  j["limits"][0] = "Max open files";
  EXPECT_TRUE(contains(fails(j), "limits[0]: expected a map"));
}

TEST(InspectContract, MissingRequiredFieldsAreErrors) {
  json j = to_json(inspect_sample());
  j.erase("pid");
  EXPECT_EQ(inspect_result_from_json(j).error().message,
            "malformed `inspect` result from the agent: pid: missing");
  j = to_json(inspect_sample());
  j.erase("comm");
  EXPECT_TRUE(contains(inspect_result_from_json(j).error().message, "comm: missing"));
  EXPECT_TRUE(inspect_result_from_json({{"pid", 1}, {"comm", "init"}}));
}

TEST(InspectContract, HostileSizesAreRefused) {
  json j = to_json(inspect_sample());
  j["threads"] = json::array();
  for (size_t i = 0; i <= kMaxThreads; ++i) j["threads"].push_back(json::object());
  EXPECT_TRUE(contains(inspect_result_from_json(j).error().message,
                       "threads: 10001 entries, more than the 10000 an agent sends"));
  j = to_json(inspect_sample());
  j["fds"] = json::array();
  for (size_t i = 0; i <= kMaxFds; ++i) j["fds"].push_back(json::object());
  EXPECT_TRUE(contains(inspect_result_from_json(j).error().message, "fds: 16385 entries"));
  // Counts are numbers to print, never sizes to allocate.
  j = to_json(inspect_sample());
  j["fds_more"] = UINT64_MAX;
  j["threads_more"] = UINT64_MAX;
  auto r = inspect_result_from_json(j);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->fds_more, UINT64_MAX);
  j["fds"][0]["fd"] = 1LL << 40;
  EXPECT_TRUE(contains(inspect_result_from_json(j).error().message, "fds[0].fd: "));
}

}  // namespace
}  // namespace sonde::proc
