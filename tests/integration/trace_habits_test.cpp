// trace behaves as a strace user expects (issue 19): a hung call is seen on
// attach, while it blocks and on detach; a launched command's children are
// traced only with -f; -c -f sums one table; the launched command's exit
// status is sonde's; -ff, -yy and the class names without %. strace is the
// oracle where it can be.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"
#include "support/contains.h"
#include "support/proc.h"
#include "support/run.h"

namespace sonde::testing {
namespace {

long mono_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

bool may_ptrace() {
  if (is_root()) return true;
  auto scope = read_file("/proc/sys/kernel/yama/ptrace_scope");
  return !scope.ok() || scope->empty() || (*scope)[0] < '2';
}

#define REQUIRE_PTRACE() \
  if (!may_ptrace()) GTEST_SKIP() << "kernel.yama.ptrace_scope >= 2 and not root"

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// The calls column of a -c table by syscall name (the first table only).
std::map<std::string, long> calls_of(const std::string& table) {
  std::map<std::string, long> rows;
  int dashes = 0;
  for (const auto& line : lines_of(table)) {
    if (line.rfind("------", 0) == 0) {
      if (++dashes == 2) break;
      continue;
    }
    if (dashes != 1) continue;
    std::istringstream f(line);
    std::vector<std::string> tok;
    for (std::string t; f >> t;) tok.push_back(t);
    if (tok.size() >= 5) rows[tok.back()] = std::stol(tok[3]);
  }
  return rows;
}

// A `cat` blocked in read(0) on a pipe we hold.
struct BlockedReader {
  Child child;
  static std::unique_ptr<BlockedReader> start() {
    SpawnOptions o;
    o.pipe_stdin = true;
    o.pipe_stdout = true;
    auto c = spawn({"cat"}, o);
    if (!c.ok()) return nullptr;
    auto r = std::make_unique<BlockedReader>();
    r->child = std::move(*c);
    // In the kernel's read once /proc says so.
    long deadline = mono_ms() + 5000;
    while (mono_ms() < deadline) {
      auto sc = read_file("/proc/" + std::to_string(r->child.pid()) + "/syscall");
      if (sc.ok() && sc->rfind("0 ", 0) == 0) return r;
      ::usleep(10000);
    }
    return nullptr;
  }
  ~BlockedReader() {
    if (child.pid() > 0) {
      child.kill(SIGKILL);
      child.wait(2000);
    }
  }
};

TEST(TraceHabits, HungReadIsShownOnAttachAndTheTargetIsLeftAsItWas) {
  REQUIRE_PTRACE();
  auto r = BlockedReader::start();
  ASSERT_TRUE(r) << "cat never blocked in read";
  const std::string pid = std::to_string(r->child.pid());
  auto t = run_sonde({"trace", "local", "-p", pid, "--duration", "1s"}, {}, 20000);
  ASSERT_EQ(t.exit_code, 0) << describe(t);
  // strace prints "read(0, " at once; sonde the call with "<unfinished ...>".
  EXPECT_TRUE(contains(t.out, "read(0, ")) << t.out;
  EXPECT_TRUE(contains(t.out, "<unfinished ...>")) << t.out;
  EXPECT_TRUE(contains(t.err, "attached")) << t.err;
  EXPECT_TRUE(contains(t.err, "detached")) << t.err;
  // Still blocked in read, untraced, and reads what comes after.
  EXPECT_EQ(tracer_pid(r->child.pid()), 0);
  ASSERT_TRUE(write_all(r->child.in().get(), "after\n").ok());
  char buf[16] = {};
  auto n = read_some(r->child.out().get(), buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "after\n");

  // The same in JSON: an event with "unfinished", not an empty trace.
  auto j = run_sonde({"--json", "trace", "local", "-p", pid, "--duration", "500ms"}, {}, 20000);
  ASSERT_EQ(j.exit_code, 0) << describe(j);
  bool unfinished = false;
  for (const auto& line : lines_of(j.out)) {
    json ev = json::parse(line, nullptr, false);
    if (ev.is_object() && ev.value("type", "") == "syscall" && ev.value("name", "") == "read" &&
        ev.value("unfinished", false))
      unfinished = ev["ret"].is_null();
  }
  EXPECT_TRUE(unfinished) << j.out;
}

TEST(TraceHabits, BlockedReadResumesWithWhatItRead) {
  REQUIRE_PTRACE();
  auto r = BlockedReader::start();
  ASSERT_TRUE(r) << "cat never blocked in read";
  SpawnOptions o;
  o.pipe_stdin = false;
  o.pipe_stderr = true;
  auto s = spawn({std::string(SONDE_BIN_DIR) + "/sonde", "trace", "local", "-p",
                  std::to_string(r->child.pid()), "--duration", "3s", "-e", "trace=read"},
                 o);
  ASSERT_TRUE(s.ok());
  long deadline = mono_ms() + 5000;
  while (mono_ms() < deadline && tracer_pid(r->child.pid()) == 0) ::usleep(10000);
  ASSERT_NE(tracer_pid(r->child.pid()), 0) << "never attached";
  ::usleep(500000);
  ASSERT_TRUE(write_all(r->child.in().get(), "hello\n").ok());
  auto st = s->wait(20000);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0);
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = read_some(s->out().get(), buf, sizeof buf);
    if (!n.ok() || *n == 0) break;
    out.append(buf, *n);
  }
  // Entry first, then its end with only the arguments the entry could not show.
  size_t entry = out.find("read(0, ");
  size_t resumed = out.find("<... read resumed>\"hello\\n\", ");
  ASSERT_NE(entry, std::string::npos) << out;
  ASSERT_NE(resumed, std::string::npos) << out;
  EXPECT_LT(entry, resumed) << out;
  EXPECT_TRUE(contains(out.substr(resumed, out.find('\n', resumed) - resumed), "= 6")) << out;
}

TEST(TraceHabits, LaunchTracesChildrenOnlyWithF) {
  REQUIRE_PTRACE();
  if (!have_program("strace")) GTEST_SKIP() << "strace not installed (the oracle)";
  const std::vector<std::string> cmd = {"sh", "-c", "/bin/true; /bin/true; exit 0"};
  auto with = [&](std::vector<std::string> a) {
    a.insert(a.end(), cmd.begin(), cmd.end());
    return a;
  };
  // Without -f: the launched shell only, as strace: one execve, its own.
  auto ours = run_sonde(with({"trace", "local", "-c", "--"}));
  ASSERT_EQ(ours.exit_code, 0) << describe(ours);
  auto theirs = run_cmd(with({"strace", "-c"}));
  ASSERT_EQ(theirs.exit_code, 0) << describe(theirs);
  EXPECT_EQ(calls_of(ours.out)["execve"], 1) << ours.out;
  EXPECT_EQ(calls_of(theirs.err)["execve"], 1) << theirs.err;
  EXPECT_EQ(calls_of(ours.out)["wait4"], calls_of(theirs.err)["wait4"]) << ours.out;
  // With -f: every process, in one summed table like strace -c -f.
  auto all = run_sonde(with({"trace", "local", "-c", "-f", "--"}));
  ASSERT_EQ(all.exit_code, 0) << describe(all);
  EXPECT_EQ(calls_of(all.out)["execve"], 3) << all.out;
  EXPECT_FALSE(contains(all.out, "pid ")) << all.out;
  // --per-process keeps the split: the sum, then a table per process.
  auto split = run_sonde(with({"trace", "local", "-c", "-f", "--per-process", "--"}));
  ASSERT_EQ(split.exit_code, 0) << describe(split);
  size_t tables = 0;
  for (const auto& line : lines_of(split.out)) tables += line.rfind("pid ", 0) == 0;
  EXPECT_EQ(tables, 3u) << split.out;

  // Lines: without -f no child's execve and no [pid N]; with -f both.
  auto plain = run_sonde(with({"trace", "local", "-e", "trace=execve", "--"}));
  ASSERT_EQ(plain.exit_code, 0) << describe(plain);
  EXPECT_FALSE(contains(plain.out, "/bin/true\"]")) << plain.out;
  EXPECT_FALSE(contains(plain.out, "[pid")) << plain.out;
  auto f = run_sonde(with({"trace", "local", "-f", "-e", "trace=execve", "--"}));
  ASSERT_EQ(f.exit_code, 0) << describe(f);
  EXPECT_TRUE(contains(f.out, "[pid")) << f.out;
  EXPECT_TRUE(contains(f.out, "execve(\"/bin/true\"")) << f.out;
}

TEST(TraceHabits, TheLaunchedCommandsExitStatusIsSondes) {
  REQUIRE_PTRACE();
  const bool oracle = have_program("strace");
  for (const char* script : {"exit 3", "exit 0", "kill -SEGV $$"}) {
    auto ours = run_sonde({"trace", "local", "-e", "trace=exit_group", "--", "sh", "-c", script});
    auto counted = run_sonde({"trace", "local", "-c", "--", "sh", "-c", script});
    int want = std::string(script) == "exit 3" ? 3 : std::string(script) == "exit 0" ? 0 : 139;
    EXPECT_EQ(ours.exit_code, want) << script << ": " << describe(ours);
    EXPECT_EQ(counted.exit_code, want) << script << ": " << describe(counted);
    if (oracle && want != 139) {
      // strace exits with the command's status; killed, it kills itself.
      auto theirs = run_cmd({"strace", "-o", "/dev/null", "sh", "-c", script});
      EXPECT_EQ(theirs.exit_code, ours.exit_code) << script;
    }
  }
  // profile too: the command's status, with the flame graph written.
  std::string dir = ::testing::TempDir() + "/sonde-habits-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  auto p = run_sonde({"profile", "local", "-o", dir + "/p.folded", "--", "sh", "-c",
                      "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 3"},
                     {}, 60000);
  EXPECT_EQ(p.exit_code, 3) << describe(p);
  EXPECT_TRUE(std::filesystem::exists(dir + "/p.folded")) << describe(p);
  std::filesystem::remove_all(dir);
}

TEST(TraceHabits, CtrlCEndsProfileWith130AsEveryCommand) {
  std::string dir = ::testing::TempDir() + "/sonde-int-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  SpawnOptions o;
  o.pipe_stdin = false;
  o.pipe_stderr = true;
  // -v: a progress line every second, not every 10 s, on a pipe.
  auto s = spawn({std::string(SONDE_BIN_DIR) + "/sonde", "-v", "profile", "local", "-o",
                  dir + "/p.folded", "--duration", "60s", "--", "sleep", "30"},
                 o);
  ASSERT_TRUE(s.ok());
  // Sampling once the progress line says so.
  std::string err;
  char buf[4096];
  long deadline = mono_ms() + 20000;
  while (mono_ms() < deadline && !contains(err, "elapsed")) {
    auto n = read_some(s->err().get(), buf, sizeof buf);
    if (!n.ok() || *n == 0) break;
    err.append(buf, *n);
  }
  ASSERT_TRUE(contains(err, "elapsed")) << err;
  ::kill(s->pid(), SIGINT);
  auto st = s->wait(20000);
  ASSERT_TRUE(st) << "sonde profile did not end on Ctrl-C";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 130) << *st;
  // What was gathered is written first.
  EXPECT_TRUE(std::filesystem::exists(dir + "/p.folded"));
  std::filesystem::remove_all(dir);
}

TEST(TraceHabits, FfWritesEachProcessToItsOwnFile) {
  REQUIRE_PTRACE();
  std::string dir = ::testing::TempDir() + "/sonde-ff-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto r = run_sonde({"trace", "local", "-ff", "-o", dir + "/t", "-e", "trace=execve", "--", "sh",
                      "-c", "/bin/true; /bin/true; exit 0"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(std::filesystem::exists(dir + "/t")) << "-ff writes only t.PID";
  size_t files = 0, trues = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename();
    ASSERT_EQ(name.rfind("t.", 0), 0u) << name;
    ++files;
    auto text = read_file(e.path());
    ASSERT_TRUE(text.ok());
    EXPECT_FALSE(contains(*text, "[pid")) << *text;
    EXPECT_TRUE(contains(*text, "+++ exited with 0 +++")) << *text;
    trues += contains(*text, "execve(\"/bin/true\"");
  }
  EXPECT_EQ(files, 3u);
  EXPECT_EQ(trues, 2u);
  std::filesystem::remove_all(dir);
  auto three = run_sonde({"trace", "local", "-fff", "--", "true"});
  EXPECT_EQ(three.exit_code, 2) << describe(three);
}

// More processes than -ff keeps files open (256), and a file limit lower
// than that: files are closed and opened again to append, and every
// process's file still has its whole story.
TEST(TraceHabits, FfWithMoreProcessesThanOpenFiles) {
  REQUIRE_PTRACE();
  for (const char* nofile : {"", "64"}) {
    if (*nofile && !have_program("prlimit")) continue;
    SCOPED_TRACE(std::string("nofile ") + nofile);
    std::string dir = ::testing::TempDir() + "/sonde-ff-many-" + std::to_string(::getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::vector<std::string> argv = {"trace",
                                     "local",
                                     "-ff",
                                     "-o",
                                     dir + "/t",
                                     "-e",
                                     "trace=execve",
                                     "--",
                                     "sh",
                                     "-c",
                                     "i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done"};
    ::sonde::testing::Run r;
    if (*nofile) {
      argv.insert(argv.begin(), std::string(SONDE_BIN_DIR) + "/sonde");
      argv.insert(argv.begin(), {"prlimit", std::string("--nofile=") + nofile});
      r = run_cmd(argv, {}, 50000);
    } else {
      r = run_sonde(argv, {}, 50000);
    }
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    size_t files = 0, trues = 0, whole = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      ++files;
      auto text = read_file(e.path());
      ASSERT_TRUE(text.ok());
      trues += contains(*text, "execve(\"/bin/true\"");
      // The start and the end of each: the sh's file was closed while 300
      // others were written, and its exit appended after its execve.
      whole += contains(*text, "execve(") && contains(*text, "+++ exited with 0 +++");
    }
    EXPECT_EQ(files, 301u);
    EXPECT_EQ(trues, 300u);
    EXPECT_EQ(whole, 301u);
    std::filesystem::remove_all(dir);
  }
}

TEST(TraceHabits, StraceSpellingsOfFdsAndClasses) {
  REQUIRE_PTRACE();
  // -yy: each fd with what it is.
  auto yy = run_sonde({"trace", "local", "-yy", "-e", "trace=read", "--", "cat", "/etc/hostname"});
  ASSERT_EQ(yy.exit_code, 0) << describe(yy);
  EXPECT_TRUE(contains(yy.out, "read(3</etc/hostname>, ")) << yy.out;
  // trace=file is trace=%file; trace=network is trace=%network.
  for (const char* cls : {"file", "network"}) {
    std::vector<std::string> seen[2];
    int i = 0;
    for (std::string spelled : {std::string(cls), std::string("%") + cls}) {
      auto r =
          run_sonde({"trace", "local", "-e", "trace=" + spelled, "--", "cat", "/etc/hostname"});
      ASSERT_EQ(r.exit_code, 0) << spelled << ": " << describe(r);
      for (const auto& line : lines_of(r.out)) seen[i].push_back(line.substr(0, line.find('(')));
      ++i;
    }
    EXPECT_EQ(seen[0], seen[1]) << cls;
    if (std::string(cls) == "file") {
      EXPECT_NE(std::find(seen[0].begin(), seen[0].end(), "openat"), seen[0].end());
      EXPECT_EQ(std::find(seen[0].begin(), seen[0].end(), "read"), seen[0].end());
    }
  }
}

}  // namespace
}  // namespace sonde::testing
