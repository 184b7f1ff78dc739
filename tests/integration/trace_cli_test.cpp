// `sonde trace` end to end on this machine (local transport): the -c table
// against strace's as the oracle, decoded lines, NDJSON, and attach mode
// leaving the target running and untraced after --duration and Ctrl-C.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <sstream>

#include "agent_client.h"
#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"
#include "support/contains.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

const std::string kTargets = SONDE_TARGETS_DIR;

// A -c table as {syscall: {calls, errors}}, from the first table in text
// (the rows between the two dashed lines). Both strace's and ours.
struct Count {
  long calls = 0, errors = 0;
  bool operator==(const Count& o) const { return calls == o.calls && errors == o.errors; }
};
std::map<std::string, Count> parse_table(const std::string& text, bool* found_total = nullptr) {
  std::map<std::string, Count> rows;
  std::istringstream in(text);
  std::string line;
  int dashes = 0;
  while (std::getline(in, line)) {
    if (line.rfind("------", 0) == 0) {
      ++dashes;
      continue;
    }
    if (dashes == 2) {
      if (found_total) *found_total = contains(line, "total");
      break;
    }
    if (dashes != 1) continue;
    std::istringstream f(line);
    std::vector<std::string> tok;
    for (std::string t; f >> t;) tok.push_back(t);
    if (tok.size() < 5) continue;
    Count c;
    c.calls = std::stol(tok[3]);
    if (tok.size() == 6) c.errors = std::stol(tok[4]);
    rows[tok.back()] = c;
  }
  return rows;
}

std::string show(const std::map<std::string, Count>& m) {
  std::string s;
  for (const auto& [k, v] : m)
    s += k + "=" + std::to_string(v.calls) + "/" + std::to_string(v.errors) + " ";
  return s;
}

// Root, or ptrace of our own children allowed (Yama scope <= 1).
bool can_ptrace(std::string* why) {
  if (is_root()) return true;
  auto scope = read_file("/proc/sys/kernel/yama/ptrace_scope");
  if (scope.ok() && !scope->empty() && (*scope)[0] >= '2') {
    *why = "kernel.yama.ptrace_scope >= 2 and not root";
    return false;
  }
  return true;
}

#define REQUIRE_PTRACE()                        \
  do {                                          \
    std::string why;                            \
    if (!can_ptrace(&why)) GTEST_SKIP() << why; \
  } while (0)

std::string tracer_pid_of(pid_t pid) {
  auto st = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!st.ok()) return "gone";
  auto at = st->find("TracerPid:");
  if (at == std::string::npos) return "?";
  auto end = st->find('\n', at);
  std::string v = st->substr(at + 10, end - at - 10);
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

TEST(TraceCli, UsageErrors) {
  auto none = run_sonde({"trace", "local"});
  EXPECT_EQ(none.exit_code, 2) << describe(none);
  EXPECT_TRUE(contains(none.err, "-p PID")) << none.err;
  auto both = run_sonde({"trace", "local", "-p", "1", "--", "true"});
  EXPECT_EQ(both.exit_code, 2) << describe(both);
  auto bad_e = run_sonde({"trace", "local", "-e", "signal=none", "--", "true"});
  EXPECT_EQ(bad_e.exit_code, 2) << describe(bad_e);
  auto bad_filter = run_sonde({"trace", "local", "-e", "trace=no_such_syscall", "--", "true"});
  EXPECT_EQ(bad_filter.exit_code, 2) << describe(bad_filter);
  auto rest = run_sonde({"ps", "local", "--", "x"});
  EXPECT_EQ(rest.exit_code, 2) << describe(rest);
}

TEST(TraceCli, CountsOfTrueMatchStrace) {
  REQUIRE_PTRACE();
  if (!have_program("strace")) GTEST_SKIP() << "strace not installed (the oracle)";
  auto ours = run_sonde({"trace", "local", "-c", "-f", "--", "/bin/true"});
  ASSERT_EQ(ours.exit_code, 0) << describe(ours);
  auto theirs = run_cmd({"strace", "-c", "-f", "/bin/true"});
  ASSERT_EQ(theirs.exit_code, 0) << describe(theirs);
  bool ours_total = false, theirs_total = false;
  auto a = parse_table(ours.out, &ours_total);
  auto b = parse_table(theirs.err, &theirs_total);
  EXPECT_TRUE(ours_total) << ours.out;
  EXPECT_TRUE(theirs_total) << theirs.err;
  ASSERT_FALSE(b.empty()) << theirs.err;
  EXPECT_EQ(show(a), show(b)) << "sonde:\n" << ours.out << "strace:\n" << theirs.err;
  EXPECT_TRUE(contains(ours.err, "+++ exited with 0 +++")) << ours.err;
}

TEST(TraceCli, OpenatLineShowsThePath) {
  REQUIRE_PTRACE();
  auto r = run_sonde({"trace", "local", "-e", "trace=openat", "--", "cat", "/etc/hosts"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  bool found = false;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("openat(", 0) == 0 && contains(line, "\"/etc/hosts\"")) {
      found = true;
      EXPECT_TRUE(contains(line, "= 3") || contains(line, "= 4")) << line;
    }
    // The filter: nothing but openat and the exit line.
    EXPECT_TRUE(line.rfind("openat(", 0) == 0 || line.rfind("+++ ", 0) == 0 || line.empty() ||
                line.rfind("---", 0) == 0)
        << line;
  }
  EXPECT_TRUE(found) << r.out;
  EXPECT_TRUE(contains(r.out, "+++ exited with 0 +++")) << r.out;
}

TEST(TraceCli, JsonIsOneObjectPerLineThenTheSummary) {
  REQUIRE_PTRACE();
  auto r = run_sonde({"--json", "trace", "local", "-e", "trace=openat", "--", "cat", "/etc/hosts"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::vector<json> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    lines.push_back(j);
  }
  ASSERT_GE(lines.size(), 2u) << r.out;
  bool hosts = false;
  for (size_t i = 0; i + 1 < lines.size(); ++i)
    if (lines[i].value("type", "") == "syscall" && lines[i].value("name", "") == "openat" &&
        contains(lines[i].value("args_text", ""), "/etc/hosts")) {
      hosts = true;
      EXPECT_TRUE(lines[i]["ret"].is_number());
      EXPECT_TRUE(lines[i]["pid"].is_number());
      EXPECT_TRUE(lines[i]["ts_ns"].is_number());
    }
  EXPECT_TRUE(hosts) << r.out;
  const json& sum = lines.back();
  EXPECT_TRUE(sum.contains("total")) << sum.dump();
  EXPECT_EQ(sum.value("events_lost", -1), 0) << sum.dump();
  EXPECT_EQ(sum.value("exit_code", -1), 0) << sum.dump();
}

TEST(TraceCli, AttachForADurationLeavesTheTargetRunningAndUntraced) {
  REQUIRE_PTRACE();
  std::string ready;
  auto t = start_tracee({kTargets + "/fd_holder", "/etc/hosts"}, &ready);
  ASSERT_TRUE(t);
  ASSERT_GT(t->pid(), 0);
  ASSERT_EQ(ready.rfind("READY", 0), 0u) << ready;
  long t0 = mono_ms();
  // Seizing interrupts the sleeping threads (restart_syscall); the workers'
  // next 1 s poll must also complete inside the window, hence 2.5 s.
  auto r = run_sonde({"trace", "local", "-p", std::to_string(t->pid()), "--duration", "2500ms"}, {},
                     20000);
  long took = mono_ms() - t0;
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_GE(took, 2400);
  EXPECT_TRUE(contains(r.err, "attached")) << r.err;
  // The worker threads poll once a second: each poll blocks longer than
  // 100 ms, so it shows at its entry, unfinished, and then resumes. The
  // process has several threads: every line has a [pid N] prefix.
  EXPECT_TRUE(contains(r.out, "poll(NULL, 0, 1000 <unfinished ...>")) << r.out;
  EXPECT_TRUE(contains(r.out, "<... poll resumed>)")) << r.out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) EXPECT_EQ(line.rfind("[pid ", 0), 0u) << line;
  EXPECT_EQ(::kill(t->pid(), 0), 0) << "the target died";
  EXPECT_EQ(tracer_pid_of(t->pid()), "0");
  EXPECT_FALSE(t->wait(200)) << "the target exited";

  // -c in attach mode: a table, and still untraced after.
  auto c = run_sonde(
      {"trace", "local", "-c", "-p", std::to_string(t->pid()), "--duration", "2500ms"}, {}, 20000);
  EXPECT_EQ(c.exit_code, 0) << describe(c);
  bool total = false;
  auto rows = parse_table(c.out, &total);
  EXPECT_TRUE(total) << c.out;
  EXPECT_TRUE(rows.count("poll")) << c.out;
  EXPECT_EQ(::kill(t->pid(), 0), 0);
  EXPECT_EQ(tracer_pid_of(t->pid()), "0");
  t->signal(SIGKILL);
}

TEST(TraceCli, CtrlCDetachesAndPrintsWhatWasGathered) {
  REQUIRE_PTRACE();
  std::string ready;
  auto t = start_tracee({kTargets + "/fd_holder", "/etc/hosts"}, &ready);
  ASSERT_TRUE(t);
  ASSERT_GT(t->pid(), 0);
  SpawnOptions o;
  o.pipe_stdin = false;
  o.pipe_stderr = true;
  auto c = spawn({std::string(SONDE_BIN_DIR) + "/sonde", "trace", "local", "-c", "-p",
                  std::to_string(t->pid())},
                 o);
  ASSERT_TRUE(c.ok());
  // Attached once the target shows a tracer.
  long deadline = mono_ms() + 5000;
  while (mono_ms() < deadline && tracer_pid_of(t->pid()) == "0") ::usleep(20000);
  ASSERT_NE(tracer_pid_of(t->pid()), "0") << "never attached";
  ::usleep(2500000);  // past restart_syscall and one whole 1 s poll
  ::kill(c->pid(), SIGINT);
  auto st = c->wait(5000);
  ASSERT_TRUE(st) << "sonde did not exit after SIGINT";
  // Ctrl-C exits 130 in every command, after the table.
  EXPECT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 130);
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = read_some(c->out().get(), buf, sizeof buf);
    if (!n.ok() || *n == 0) break;
    out.append(buf, *n);
  }
  bool total = false;
  auto rows = parse_table(out, &total);
  EXPECT_TRUE(total) << out;
  EXPECT_TRUE(rows.count("poll")) << out;
  EXPECT_EQ(::kill(t->pid(), 0), 0) << "the target died";
  EXPECT_EQ(tracer_pid_of(t->pid()), "0");
  t->signal(SIGKILL);
}

}  // namespace
}  // namespace sonde::testing
