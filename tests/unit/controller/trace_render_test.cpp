// strace-like rendering of tracer events (hand-made JSON in the shapes of
// sonde/ptrace/tracer.h) and of summaries (TraceResult).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>
#include <algorithm>

#include "sonde/render/trace.h"

namespace sonde::render {
namespace {

// 2024-03-04 14:03:05.123456789 UTC
constexpr long long kTs = 1709560985123456789LL;

class TraceRender : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

json openat_event(long long pid = 4242) {
  return {{"type", "syscall"},
          {"pid", pid},
          {"name", "openat"},
          {"nr", 257},
          {"args_text", "AT_FDCWD, \"/etc/hosts\", O_RDONLY|O_CLOEXEC"},
          {"ret", 3},
          {"ret_text", "3"},
          {"ts_ns", kTs},
          {"dur_ns", 123456}};
}

TEST_F(TraceRender, PlainLine) {
  TraceLinePrinter p({});
  EXPECT_EQ(p.line(openat_event()), "openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY|O_CLOEXEC) = 3\n");
}

TEST_F(TraceRender, ShortCallsAlignReturnAtColumn40LikeStrace) {
  TraceLinePrinter p({});
  json ev = {{"type", "syscall"}, {"pid", 1}, {"name", "close"},
             {"args_text", "3"},  {"ret", 0}, {"ret_text", "0"}};
  std::string l = p.line(ev);
  EXPECT_EQ(l, "close(3)" + std::string(32, ' ') + "= 0\n");
  EXPECT_EQ(l.find('='), 40u);
}

TEST_F(TraceRender, ErrorsAndUnknownReturns) {
  TraceLinePrinter p({});
  json ev = {{"type", "syscall"},
             {"pid", 1},
             {"name", "connect"},
             {"args_text",
              "3, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr(\"127.0.0.1\")}, 16"},
             {"ret", -1},
             {"ret_text", "-1 ECONNREFUSED (Connection refused)"},
             {"errno", "ECONNREFUSED"}};
  EXPECT_EQ(p.line(ev),
            "connect(3, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr(\"127.0.0.1\")}, "
            "16) = -1 ECONNREFUSED (Connection refused)\n");
  json ex = {{"type", "syscall"}, {"pid", 1}, {"name", "exit_group"}, {"args_text", "0"}};
  EXPECT_EQ(p.line(ex), "exit_group(0)" + std::string(27, ' ') + "= ?\n");
  json unnamed = {{"type", "syscall"}, {"pid", 1}, {"nr", 999}, {"args_text", ""}, {"ret", 0}};
  EXPECT_EQ(p.line(unnamed).substr(0, 14), "syscall_999() ");
}

TEST_F(TraceRender, TimestampsAndDurations) {
  TraceLinePrinter t1({1, false, false});
  EXPECT_EQ(t1.line(openat_event()).substr(0, 16), "14:03:05 openat(");
  TraceLinePrinter t2({2, true, false});
  EXPECT_EQ(
      t2.line(openat_event()),
      "14:03:05.123456 openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY|O_CLOEXEC) = 3 <0.000123>\n");
  TraceLinePrinter t3({3, false, false});
  EXPECT_EQ(t3.line(openat_event()).substr(0, 25), "1709560985.123456 openat(");
  EXPECT_EQ(format_trace_time(kTs, 2), "14:03:05.123456");
  TraceLinePrinter d({0, true, false});
  json ev = openat_event();
  ev["dur_ns"] = 2500000000LL;
  std::string l = d.line(ev);
  EXPECT_NE(l.find("= 3 <2.500000>\n"), std::string::npos) << l;
}

TEST_F(TraceRender, PidPrefixWithFollowForksOrASecondProcess) {
  TraceLinePrinter f({2, false, true});
  EXPECT_EQ(f.line(openat_event(4242)).substr(0, 29), "[pid  4242] 14:03:05.123456 o");

  // Without -f the prefix starts with the second process, as in strace.
  TraceLinePrinter p({});
  EXPECT_EQ(p.line(openat_event(10)).substr(0, 7), "openat(");
  EXPECT_EQ(p.line(openat_event(11)).substr(0, 19), "[pid    11] openat(");
  EXPECT_EQ(p.line(openat_event(10)).substr(0, 19), "[pid    10] openat(");
  TraceLinePrinter wide({0, false, true});
  EXPECT_EQ(wide.line(openat_event(1234567)).substr(0, 15), "[pid 1234567] o");
}

// strace's return column: the line so far, padded to column 40.
std::string at40(std::string s) {
  s.resize(std::max<size_t>(s.size() + 1, 40), ' ');
  return s;
}

TEST_F(TraceRender, UnfinishedAndResumedLikeStrace) {
  TraceLinePrinter p({});
  json entry = {{"type", "syscall"}, {"pid", 7},           {"name", "read"},
                {"nr", 0},           {"unfinished", true}, {"args_text", "0, 0x55d0, 8192"},
                {"ret", nullptr},    {"ret_text", ""},     {"ts_ns", kTs}};
  EXPECT_EQ(p.line(entry), "read(0, 0x55d0, 8192 <unfinished ...>\n");
  // The resumed line goes on where the unfinished one's arguments differ.
  json rest = {{"type", "syscall"}, {"pid", 7},        {"name", "read"},
               {"nr", 0},           {"resumed", true}, {"args_text", "0, \"hi\\n\", 8192"},
               {"ret", 3},          {"ret_text", "3"}, {"ts_ns", kTs + 5}};
  EXPECT_EQ(p.line(rest), at40("<... read resumed>\"hi\\n\", 8192)") + "= 3\n");
  // Nothing new to show: strace's "<... futex resumed>) = 0".
  json f = {{"type", "syscall"},
            {"pid", 8},
            {"name", "futex"},
            {"unfinished", true},
            {"args_text", "0x1, FUTEX_WAIT, 0"}};
  EXPECT_EQ(p.line(f), "[pid     8] futex(0x1, FUTEX_WAIT, 0 <unfinished ...>\n");
  f.erase("unfinished");
  f["resumed"] = true;
  f["ret"] = 0;
  f["ret_text"] = "0";
  EXPECT_EQ(p.line(f), at40("[pid     8] <... futex resumed>)") + "= 0\n");
  // A resumed line whose beginning was lost shows all its arguments.
  TraceLinePrinter q({});
  EXPECT_EQ(q.line(rest), at40("<... read resumed>0, \"hi\\n\", 8192)") + "= 3\n");
  // A blocked call with no arguments, and restart_syscall's text.
  json r = {{"type", "syscall"},
            {"pid", 9},
            {"name", "restart_syscall"},
            {"unfinished", true},
            {"args_text", "<... resuming interrupted clock_nanosleep ...>"}};
  EXPECT_EQ(q.line(r),
            "[pid     9] restart_syscall(<... resuming interrupted clock_nanosleep ...> "
            "<unfinished ...>\n");
}

TEST_F(TraceRender, ResumedLineStartsAtAWholeArgument) {
  TraceLinePrinter p({});
  json u = {{"type", "syscall"},  {"pid", 3},
            {"name", "recvmsg"},  {"nr", 47},
            {"unfinished", true}, {"args_text", "3, {msg_name=NULL, msg_iov=0x1000}, 0"}};
  (void)p.line(u);
  // The first difference is inside the struct: the struct comes whole.
  json r = {{"type", "syscall"}, {"pid", 3},
            {"name", "recvmsg"}, {"nr", 47},
            {"resumed", true},   {"ret", 1},
            {"ret_text", "1"},   {"args_text", "3, {msg_name=NULL, msg_iov=[{\"x\", 1}]}, 0"}};
  EXPECT_EQ(p.line(r).rfind("<... recvmsg resumed>{msg_name=NULL, msg_iov=[{\"x\", 1}]}, 0)", 0),
            0u)
      << p.line(r);
  // Another call's resumed line on the same thread does not borrow it.
  (void)p.line(u);
  json other = r;
  other["nr"] = 0;
  other["name"] = "read";
  EXPECT_EQ(p.line(other).rfind("<... read resumed>3, {msg_name", 0), 0u);
}

TEST_F(TraceRender, AlwaysPidOnceAProcessHasThreads) {
  TraceLinePrinter p({});
  EXPECT_EQ(p.line(openat_event(5)).rfind("openat(", 0), 0u);
  // One thread attached: no prefix yet. Several: every line has one.
  EXPECT_EQ(p.line({{"type", "attached"}, {"pid", 6}, {"tids", 1}}), "");
  EXPECT_EQ(p.line(openat_event(5)).rfind("openat(", 0), 0u);
  EXPECT_EQ(p.line({{"type", "attached"}, {"pid", 5}, {"tids", 4}}), "");
  EXPECT_EQ(p.line(openat_event(5)).rfind("[pid     5] openat(", 0), 0u);
}

TEST_F(TraceRender, SignalExitAndKilledLines) {
  TraceLinePrinter p({});
  EXPECT_EQ(p.line({{"type", "signal"}, {"pid", 7}, {"sig", "SIGCHLD"}, {"ts_ns", kTs}}),
            "--- SIGCHLD ---\n");
  EXPECT_EQ(p.line({{"type", "exit"}, {"pid", 7}, {"code", 0}}), "+++ exited with 0 +++\n");
  EXPECT_EQ(p.line({{"type", "exit"}, {"pid", 7}, {"code", 3}}), "+++ exited with 3 +++\n");
  EXPECT_EQ(p.line({{"type", "killed"}, {"pid", 7}, {"sig", "SIGKILL"}}),
            "+++ killed by SIGKILL +++\n");
  EXPECT_EQ(p.exits_printed(), 3u);
  EXPECT_EQ(p.line({{"type", "attached"}, {"pid", 7}, {"tids", 1}}), "");
  EXPECT_EQ(p.line({{"type", "detached"}, {"pid", 7}}), "");
  TraceLinePrinter f({1, false, true});
  EXPECT_EQ(f.line({{"type", "signal"}, {"pid", 8}, {"sig", "SIGTERM"}, {"ts_ns", kTs}}),
            "[pid     8] 14:03:05 --- SIGTERM ---\n");
  // What the target controls cannot inject terminal escapes.
  EXPECT_EQ(p.line({{"type", "signal"}, {"pid", 7}, {"sig", "SIG\x1b[2J"}}), "--- SIG?[2J ---\n");
}

TEST_F(TraceRender, MistypedEventFieldsAreDefaultsNotExceptions) {
  TraceLinePrinter p({});
  std::string line;
  ASSERT_NO_THROW(line = p.line({{"type", "killed"}, {"pid", "x"}, {"sig", 9}, {"core", "yes"}}));
  EXPECT_EQ(line, "+++ killed by 9 +++\n");
  ASSERT_NO_THROW(line = p.line({{"type", "exit"}, {"pid", 0}, {"code", 1.5}}));
  EXPECT_EQ(line, "+++ exited with 0 +++\n");
  ASSERT_NO_THROW(line = p.line({{"type", "syscall"}, {"nr", "x"}, {"ret", "7"}}));
  EXPECT_EQ(line, "syscall_-1()" + std::string(28, ' ') + "= ?\n");
}

ptrace::ProcessCounts block(
    std::vector<std::tuple<std::string, uint64_t, uint64_t, uint64_t>> rows) {
  ptrace::ProcessCounts b;
  for (auto& [name, calls, errors, ns] : rows) {
    b.syscalls.push_back({name, -1, calls, errors, ns});
    b.total.calls += calls;
    b.total.errors += errors;
    b.total.time_ns += ns;
  }
  return b;
}

std::string table(const ptrace::ProcessCounts& b) {
  return render_trace_table(b.syscalls, b.total);
}

ptrace::TraceResult summary_of(const ptrace::ProcessCounts& all,
                               std::vector<ptrace::ProcessCounts> per) {
  ptrace::TraceResult r;
  r.syscalls = all.syscalls;
  r.total = all.total;
  r.per_process = std::move(per);
  return r;
}

TEST_F(TraceRender, SummaryTableIsStraceLayout) {
  // Given out of order: the table sorts by time.
  auto b = block({{"read", 10, 0, 250000}, {"openat", 4, 1, 500000}, {"close", 2, 0, 250000}});
  std::string expected =
      "% time     seconds  usecs/call     calls    errors syscall\n"
      "------ ----------- ----------- --------- --------- ----------------\n"
      " 50.00    0.000500         125         4         1 openat\n"
      " 25.00    0.000250          25        10           read\n"
      " 25.00    0.000250         125         2           close\n"
      "------ ----------- ----------- --------- --------- ----------------\n"
      "100.00    0.001000          62        16         1 total\n";
  EXPECT_EQ(table(b), expected);
}

TEST_F(TraceRender, SummaryWithZeroTimeAndNoRows) {
  std::string t = table(block({{"execve", 1, 0, 0}}));
  EXPECT_NE(t.find("  0.00    0.000000           0         1           execve\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("100.00    0.000000           0         1           total\n"),
            std::string::npos);
  std::string empty = table({});
  EXPECT_NE(empty.find("100.00    0.000000           0         0           total\n"),
            std::string::npos)
      << empty;
  // A syscall the agent could not name shows its number, as strace does.
  ptrace::ProcessCounts unnamed;
  unnamed.syscalls.push_back({"", 451, 1, 0, 0});
  EXPECT_NE(table(unnamed).find(" syscall_451\n"), std::string::npos) << table(unnamed);
}

TEST_F(TraceRender, PerProcessTablesOnlyWithSeveralProcesses) {
  auto one = block({{"read", 1, 0, 1000}});
  ptrace::ProcessCounts p5 = block({{"read", 1, 0, 1000}});
  p5.pid = 5;
  EXPECT_EQ(render_trace_summary(summary_of(one, {p5}), true), table(one));

  auto two = block({{"read", 3, 0, 3000}, {"write", 1, 1, 1000}});
  p5 = block({{"read", 3, 0, 3000}});
  p5.pid = 5;
  ptrace::ProcessCounts p6 = block({{"write", 1, 1, 1000}});
  p6.pid = 6;
  auto sum = summary_of(two, {p5, p6});
  // As strace -c -f: one table summed over every process, unless asked.
  EXPECT_EQ(render_trace_summary(sum), table(two));
  std::string s = render_trace_summary(sum, true);
  EXPECT_EQ(s.find(table(two)), 0u);
  size_t at5 = s.find("\npid 5:\n"), at6 = s.find("\npid 6:\n");
  ASSERT_NE(at5, std::string::npos) << s;
  ASSERT_NE(at6, std::string::npos) << s;
  EXPECT_LT(at5, at6);
  EXPECT_NE(s.find("100.00    0.000001           1         1         1 write\n", at6),
            std::string::npos)
      << s;
  EXPECT_EQ(s.find("more process"), std::string::npos);
  sum.per_process_more = 1;
  EXPECT_NE(render_trace_summary(sum, true).find("\n… 1 more process not shown (the busiest are)"),
            std::string::npos);
}

}  // namespace
}  // namespace sonde::render
