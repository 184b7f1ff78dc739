// Merged fleet views built from typed results: trace -c over hosts (n/N,
// worst host, outliers, --by-host), stacks grouped by where they are, and
// profiles merged or compared (--diff-base).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "sonde/render/fleet.h"

namespace sonde::render {
namespace {

using ptrace::SyscallCount;
using ptrace::TraceResult;

TraceResult counts(std::vector<SyscallCount> sc) {
  TraceResult r;
  for (const auto& s : sc) {
    r.total.calls += s.calls;
    r.total.errors += s.errors;
    r.total.time_ns += s.time_ns;
  }
  r.syscalls = std::move(sc);
  return r;
}

// The line of the table whose last word is `name`.
std::string row_of(const std::string& text, const std::string& name) {
  for (size_t p = 0; p < text.size();) {
    size_t e = text.find('\n', p);
    std::string line = text.substr(p, e - p);
    if (line.size() > name.size() &&
        line.compare(line.size() - name.size(), name.size(), name) == 0)
      return line;
    p = e == std::string::npos ? text.size() : e + 1;
  }
  return {};
}

std::vector<std::pair<std::string, TraceResult>> four_hosts() {
  std::vector<std::pair<std::string, TraceResult>> h;
  for (int i = 1; i <= 4; ++i) {
    // web03 waits 500 ms in read; the others 10 ms. Only web01 calls openat.
    uint64_t read_ns = i == 3 ? 500'000'000 : 10'000'000;
    std::vector<SyscallCount> sc = {{"read", 0, 100, i == 2 ? 4u : 0u, read_ns},
                                    {"close", 3, 10, 0, 20'000 + 5'000ull * i}};
    if (i == 1) sc.push_back({"openat", 257, 2, 1, 30'000});
    h.emplace_back("web0" + std::to_string(i), counts(sc));
  }
  return h;
}

TEST(FleetRender, TraceTableSumsHostsAndNamesTheWorst) {
  std::string t = render_trace_fleet(four_hosts(), 5, false);
  std::string read = row_of(t, "read");
  ASSERT_FALSE(read.empty()) << t;
  // 400 calls, 4 errors, 4 of the 5 hosts asked, web03 the worst and an outlier.
  EXPECT_NE(read.find(" 400 "), std::string::npos) << read;
  EXPECT_NE(read.find(" 4 "), std::string::npos) << read;
  EXPECT_NE(read.find("4/5"), std::string::npos) << read;
  EXPECT_NE(read.find("web03 94% !"), std::string::npos) << read;
  // close differs by microseconds: the worst host, not an outlier.
  std::string close = row_of(t, "close");
  EXPECT_NE(close.find("web04"), std::string::npos) << close;
  EXPECT_EQ(close.find('!'), std::string::npos) << close;
  EXPECT_NE(row_of(t, "openat").find("1/5"), std::string::npos) << t;
  EXPECT_NE(row_of(t, "total").find(" 442 "), std::string::npos) << t;
  EXPECT_NE(t.find("outliers"), std::string::npos) << t;
  EXPECT_NE(t.find("web03: read took 0.500000 s in 100 calls, the median host 0.010000 s"),
            std::string::npos)
      << t;
  // Sorted by time, like strace -c.
  EXPECT_LT(t.find("read"), t.find("close")) << t;
}

TEST(FleetRender, TraceByHostHasAColumnPerHost) {
  std::string t = render_trace_fleet(four_hosts(), 4, true);
  std::string header = t.substr(0, t.find('\n'));
  for (const char* h : {"web01", "web02", "web03", "web04"})
    EXPECT_NE(header.find(h), std::string::npos) << header;
  // Rows start with the name here: find it by prefix.
  size_t at = t.find("openat");
  ASSERT_NE(at, std::string::npos) << t;
  std::string line = t.substr(at, t.find('\n', at) - at);
  EXPECT_NE(line.find("2 (1E)"), std::string::npos) << line;
  EXPECT_NE(line.find(" -"), std::string::npos) << "hosts with no call show -: " << line;
}

profiler::ThreadStack thread(int tid, std::vector<std::string> functions) {
  profiler::ThreadStack t;
  t.tid = tid;
  t.name = "worker";
  t.state = 'S';
  for (auto& f : functions) {
    profiler::Frame fr;
    fr.function = f;
    fr.module = "/usr/lib/libapp.so";
    fr.address = 0x1000u + static_cast<uint64_t>(tid);  // differs per host: not part of the place
    t.frames.push_back(fr);
  }
  return t;
}

TEST(FleetRender, StacksAreGroupedByPlaceMostHostsFirst) {
  std::vector<std::pair<std::string, profiler::StackDump>> hosts;
  for (int i = 1; i <= 3; ++i) {
    profiler::StackDump d;
    d.pid = 100 + i;
    d.threads.push_back(thread(10 * i, {"pthread_cond_wait", "queue_pop", "worker_main"}));
    if (i == 2) d.threads.push_back(thread(10 * i + 1, {"read", "handle_request"}));
    hosts.emplace_back("app0" + std::to_string(i), std::move(d));
  }
  auto fold = [](const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
    return s;
  };
  std::string t = render_stack_fleet(hosts, fold);
  size_t stuck = t.find("== 3 hosts, 3 threads: app01,app02,app03 ==");
  size_t odd = t.find("== 1 host, 1 thread: app02 ==");
  ASSERT_NE(stuck, std::string::npos) << t;
  ASSERT_NE(odd, std::string::npos) << t;
  EXPECT_LT(stuck, odd) << t;
  EXPECT_NE(t.find("#0  pthread_cond_wait - libapp.so"), std::string::npos) << t;
  EXPECT_NE(t.find("app02 TID 21 worker (S)"), std::string::npos) << t;
}

// A profile of one thread: `n` samples in each named leaf under main.
profiler::Profile leaves(int pid, std::vector<std::pair<std::string, uint64_t>> n) {
  profiler::Profile p;
  p.pid = pid;
  p.comm = "app";
  p.mode = "cpu";
  p.sampler = "perf_event";
  p.hz = 99;
  p.threads = {{pid, "app"}};
  p.frames.push_back(profiler::Frame{});
  p.frames[0].function = "main";
  p.frames[0].module = "/usr/bin/app";
  for (const auto& [name, count] : n) {
    profiler::Frame f;
    f.function = name;
    f.module = "/usr/bin/app";
    p.frames.push_back(f);
    p.stacks.push_back({{static_cast<uint32_t>(p.frames.size() - 1), 0}, count, 0});
    p.samples += count;
  }
  return p;
}

std::string fold_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

TEST(ProfileFleet, OneLinePerHostAndHowManyHostsSampledEachFunction) {
  profiler::HostProfiles hosts = {{"web01", leaves(11, {{"spin", 30}, {"parse", 10}})},
                                  {"web02", leaves(22, {{"spin", 60}})}};
  auto merged = profiler::merge_host_profiles(hosts);
  std::string text = render_profile_fleet(hosts, merged, 10, fold_names);
  // The busiest host first, with its hottest function.
  auto w2 = text.find("web02"), w1 = text.find("web01");
  ASSERT_NE(w2, std::string::npos) << text;
  EXPECT_LT(w2, w1) << text;
  EXPECT_NE(row_of(text, "spin (app) (100.0%)").find("60"), std::string::npos) << text;
  EXPECT_NE(row_of(text, "spin (app)").find("2/2"), std::string::npos) << text;
  EXPECT_NE(row_of(text, "parse (app)").find("1/2"), std::string::npos) << text;
  EXPECT_NE(text.find("2 hosts: cpu profile, 99 Hz"), std::string::npos) << text;
  EXPECT_NE(text.find("samples: 100"), std::string::npos) << text;
}

TEST(ProfileFleet, DiffNamesTheSidesAndTheBiggestChangeFirst) {
  profiler::HostProfiles hosts = {{"web01", leaves(1, {{"spin", 90}, {"parse", 10}})},
                                  {"web02", leaves(2, {{"spin", 50}, {"parse", 50}})},
                                  {"web03", leaves(3, {{"spin", 45}, {"parse", 45}, {"gc", 10}})}};
  auto d = profiler::diff_sides(hosts, {"web01"});
  std::string text = render_profile_diff(d, 10, fold_names);
  EXPECT_NE(text.find("base: web01 (1 host), against: web02,web03 (2 hosts)"), std::string::npos)
      << text;
  // spin: 90% -> (50% + 45%) / 2 = 47.5%; parse 10% -> 47.5%; gc 0 -> 5%.
  EXPECT_NE(row_of(text, "spin (app)").find("-42.5"), std::string::npos) << text;
  EXPECT_NE(row_of(text, "parse (app)").find("+37.5"), std::string::npos) << text;
  EXPECT_NE(row_of(text, "gc (app)").find("+5.0"), std::string::npos) << text;
  EXPECT_LT(text.find("spin (app)"), text.find("gc (app)")) << text;
}

// Two hosts' trace events in one stream: host b's clock is 50 ms ahead, so
// its event stamped 1.030 s happened at 0.980 s on ours, before a's 1.000 s;
// a's event 0.1 ms after b's next one cannot be ordered against it.
TEST(TraceFleetEvents, OneStreamOnTheControllersClockWithUnknownOrderMarked) {
  auto ev = [](long long pid, const std::string& name, long long ts_ns) {
    return json{{"type", "syscall"}, {"pid", pid}, {"name", name},
                {"args_text", ""},   {"ret", 0},   {"ts_ns", ts_ns}};
  };
  HostEvents a{"web01",
               {ev(10, "read", 1'000'000'000), ev(10, "write", 1'100'100'000)},
               ClockOffset{0, 200'000, 8}};
  HostEvents b{"web02",
               {ev(20, "openat", 1'030'000'000), ev(20, "close", 1'150'000'000)},
               ClockOffset{50'000'000, 200'000, 8}};
  std::string text = render_trace_fleet_events({a, b}, {}, fold_names);
  auto pos = [&](const std::string& what) { return text.find(what); };
  ASSERT_NE(pos("openat("), std::string::npos) << text;
  EXPECT_LT(pos("openat("), pos("read(")) << text;  // 0.980 s before 1.000 s
  EXPECT_LT(pos("read("), pos("close(")) << text;   // 1.000 before 1.100
  EXPECT_LT(pos("close("), pos("write(")) << text;  // 1.1000 before 1.1001
  // write (web01, 1.1001 s +/- 0.2 ms) vs close (web02, 1.1000 s +/- 0.2 ms): overlap.
  std::string write_line = text.substr(text.rfind('\n', pos("write(")) + 1);
  EXPECT_EQ(write_line.rfind("~ web01", 0), 0u) << text;
  std::string read_line = text.substr(text.rfind('\n', pos("read(")) + 1);
  EXPECT_EQ(read_line.rfind("  web01", 0), 0u) << "50 ms apart: ordered\n" << text;
  EXPECT_NE(text.find("web02 +50.000 ms +/- 0.200 ms"), std::string::npos) << text;

  // Hosts that printed the same lines are one group, as other text is.
  HostEvents c = a;
  c.host = "web03";
  std::string same = render_trace_fleet_events({a, c}, {}, fold_names);
  EXPECT_NE(same.find("web01,web03 (2 hosts)"), std::string::npos) << same;
}

}  // namespace
}  // namespace sonde::render
