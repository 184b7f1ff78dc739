// `sonde inject` syscall faults (issue 18, point 1), on this machine:
//  - the same program under `sonde inject` and under `strace -e inject=`
//    with the same rules sees the same result at the same call indexes, per
//    process (-f), with and without the seccomp filter;
//  - sonde's extensions: several rules per syscall, -P PATH (a path
//    argument, or the file an fd is open on), --peer ADDR:PORT for connect,
//    --probability with --seed, --count, delays, signals;
//  - a running process: faults for a while, then detached and running;
//    --count ends the run; PID 1 is refused without --force; --plan attaches
//    to nothing; a SIGKILLed agent leaves its target running, not stopped.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/contains.h"
#include "support/proc.h"
#include "support/run.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kProbe = target_path("fault_probe");

#define NEED_PTRACE()                               \
  do {                                              \
    std::string why;                                \
    if (!ptrace_allowed(&why)) GTEST_SKIP() << why; \
  } while (0)

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/sonde-inject-XXXXXX";
    dir_ = ::mkdtemp(tmpl) ? tmpl : "/tmp";
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

// The probe under strace with these rules; its result file.
std::string under_strace(const Scratch& s, const std::vector<std::string>& rules,
                         const std::vector<std::string>& probe_args, const std::string& name) {
  std::vector<std::string> argv = {"strace", "-f", "-qq", "-o", "/dev/null"};
  for (const auto& r : rules) argv.insert(argv.end(), {"-e", r});
  argv.push_back(kProbe);
  argv.push_back(s.path(name));
  argv.insert(argv.end(), probe_args.begin(), probe_args.end());
  auto r = run_cmd(argv, {}, 30000);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  return read_file(s.path(name));
}

Run sonde_inject(const Scratch& s, const std::vector<std::string>& opts,
                 const std::vector<std::string>& probe_args, const std::string& name) {
  std::vector<std::string> argv = {"inject", "local"};
  argv.insert(argv.end(), opts.begin(), opts.end());
  argv.push_back("--");
  argv.push_back(kProbe);
  argv.push_back(s.path(name));
  argv.insert(argv.end(), probe_args.begin(), probe_args.end());
  return run_sonde(argv, {}, 30000);
}

std::string under_sonde(const Scratch& s, const std::vector<std::string>& rules,
                        const std::vector<std::string>& probe_args, const std::string& name,
                        bool seccomp = true) {
  std::vector<std::string> opts = {"-f"};
  if (!seccomp) opts.push_back("--no-seccomp");
  for (const auto& r : rules) opts.insert(opts.end(), {"-e", r});
  auto r = sonde_inject(s, opts, probe_args, name);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  return read_file(s.path(name));
}

// The lines of one kind ("parent openat") of a probe's result file.
std::vector<std::string> lines_of(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.rfind(prefix, 0) == 0) out.push_back(l);
  return out;
}

TEST(Inject, SameResultsAsStraceAtTheSameCalls) {
  NEED_PTRACE();
  if (!have_program("strace")) GTEST_SKIP() << "strace is not installed";
  Scratch s;
  const std::vector<std::vector<std::string>> rule_sets = {
      {"inject=openat:error=ENOENT:when=3+2", "inject=read:retval=0:when=2..6+2",
       "inject=close:error=EIO:when=2", "inject=getppid:retval=0:when=3+"},
      {"fault=openat:when=4", "inject=read:error=EAGAIN:when=5..7", "inject=close:error=EPERM"},
      {"inject=openat,read:error=EACCES:when=2+3"},
  };
  int n = 0;
  for (const auto& rules : rule_sets) {
    ++n;
    std::string want = under_strace(s, rules, {"fork"}, "strace" + std::to_string(n));
    ASSERT_FALSE(want.empty());
    // Something was injected, in both processes.
    EXPECT_NE(lines_of(want, "child").size(), 0u) << want;
    EXPECT_NE(want.find(" -1 "), std::string::npos) << want;
    for (bool seccomp : {true, false}) {
      std::string got = under_sonde(s, rules, {"fork"},
                                    "sonde" + std::to_string(n) + (seccomp ? "s" : "n"), seccomp);
      EXPECT_EQ(got, want) << "rules " << ::testing::PrintToString(rules)
                           << (seccomp ? " (seccomp)" : " (no seccomp)");
    }
  }
}

TEST(Inject, WithoutFChildrenAreLeftAlone) {
  NEED_PTRACE();
  Scratch s;
  auto r = sonde_inject(s, {"-e", "inject=read:error=EIO"}, {"fork"}, "out");
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  std::string got = read_file(s.path("out"));
  auto parent = lines_of(got, "parent read");
  auto child = lines_of(got, "child read");
  ASSERT_EQ(parent.size(), 8u) << got;
  ASSERT_EQ(child.size(), 8u) << got;
  for (const auto& l : parent) EXPECT_TRUE(contains(l, " -1 5")) << l;
  // Followed (a child under the seccomp filter needs its tracer) but unchanged.
  for (const auto& l : child) EXPECT_TRUE(contains(l, " 1 0")) << l;
  EXPECT_TRUE(contains(r.out, "8 faults injected")) << r.out;
}

TEST(Inject, SeveralRulesPerSyscallFirstResultWins) {
  NEED_PTRACE();
  Scratch s;
  std::string got = under_sonde(
      s, {"inject=openat:error=ENOENT:when=2", "inject=openat:error=EPERM:when=2+3"}, {}, "out");
  auto lines = lines_of(got, "parent openat");
  ASSERT_EQ(lines.size(), 8u) << got;
  // Call 2: both fire, the first rule's error; 5 and 8: the second's.
  EXPECT_EQ(lines[1], "parent openat 2 -1 2");
  EXPECT_EQ(lines[4], "parent openat 5 -1 1");
  EXPECT_EQ(lines[7], "parent openat 8 -1 1");
  EXPECT_EQ(lines[2], "parent openat 3 0 0");
}

TEST(Inject, PathFilterOnPathsAndOnFds) {
  NEED_PTRACE();
  Scratch s;
  // No call names this path: nothing is injected.
  auto r = sonde_inject(s, {"-e", "inject=openat,read:error=EIO", "-P", "/nonexistent"}, {}, "a");
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(read_file(s.path("a")).find(" -1 5"), std::string::npos) << read_file(s.path("a"));
  EXPECT_TRUE(contains(r.out, "0 faults injected")) << r.out;
  // openat of /etc/hostname by its path; read of /dev/zero by its fd's file.
  r = sonde_inject(s, {"-e", "inject=openat:error=EIO", "-P", "/etc/hostname"}, {}, "b");
  EXPECT_EQ(lines_of(read_file(s.path("b")), "parent openat 1 -1 5").size(), 1u);
  EXPECT_TRUE(contains(r.out, "8 faults injected")) << r.out;
  r = sonde_inject(s, {"-e", "inject=read:error=EIO:when=2", "-P", "/dev/zero"}, {}, "c");
  auto reads = lines_of(read_file(s.path("c")), "parent read");
  ASSERT_EQ(reads.size(), 8u);
  EXPECT_EQ(reads[1], "parent read 2 -1 5");
  EXPECT_EQ(reads[0], "parent read 1 1 0");
  // The injected call is shown as strace shows it, and the table counts it.
  EXPECT_TRUE(contains(r.out, "read(")) << r.out;
  EXPECT_TRUE(contains(r.out, "= -1 EIO (Input/output error) (INJECTED)")) << r.out;
}

TEST(Inject, PeerFilterFailsOnlyThatAddress) {
  NEED_PTRACE();
  Scratch s;
  int srv = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(srv, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  ASSERT_EQ(::bind(srv, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(srv, 64), 0);
  socklen_t len = sizeof sa;
  ::getsockname(srv, reinterpret_cast<sockaddr*>(&sa), &len);
  std::string port = std::to_string(ntohs(sa.sin_port));
  auto r =
      sonde_inject(s, {"-e", "inject=connect:error=ECONNREFUSED", "--peer", "127.0.0.2:" + port},
                   {"connect", port}, "out");
  ::close(srv);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  std::string got = read_file(s.path("out"));
  auto c1 = lines_of(got, "parent connect1");
  auto c2 = lines_of(got, "parent connect2");
  ASSERT_EQ(c1.size(), 3u) << got;
  ASSERT_EQ(c2.size(), 3u) << got;
  for (const auto& l : c1) EXPECT_TRUE(contains(l, " 0 0")) << l;
  for (const auto& l : c2) EXPECT_TRUE(contains(l, " -1 111")) << l;  // ECONNREFUSED
}

TEST(Inject, ProbabilityWithASeedRepeatsAndCountStops) {
  NEED_PTRACE();
  Scratch s;
  std::vector<std::string> opts = {"-e", "inject=read:error=EIO", "--probability", "0.5", "--seed",
                                   "42"};
  auto a = sonde_inject(s, opts, {}, "a");
  auto b = sonde_inject(s, opts, {}, "b");
  EXPECT_EQ(read_file(s.path("a")), read_file(s.path("b")));
  size_t failed = lines_of(read_file(s.path("a")), "parent read").size();
  ASSERT_EQ(failed, 8u);
  auto fails = 0;
  for (const auto& l : lines_of(read_file(s.path("a")), "parent read"))
    fails += contains(l, "-1 5");
  EXPECT_GT(fails, 0);
  EXPECT_LT(fails, 8);
  // --count: only the first two of every read fail.
  auto c = sonde_inject(s, {"-e", "inject=read:error=EIO", "--count", "2"}, {}, "c");
  auto reads = lines_of(read_file(s.path("c")), "parent read");
  ASSERT_EQ(reads.size(), 8u);
  EXPECT_EQ(reads[0], "parent read 1 -1 5");
  EXPECT_EQ(reads[1], "parent read 2 -1 5");
  EXPECT_EQ(reads[2], "parent read 3 1 0");
  EXPECT_TRUE(contains(c.out, "2 faults injected")) << c.out;
}

TEST(Inject, DelayHoldsTheCallAndSignalIsSent) {
  NEED_PTRACE();
  Scratch s;
  auto t0 = std::chrono::steady_clock::now();
  auto r = sonde_inject(s,
                        {"-e", "inject=getppid:delay_enter=300ms:when=2", "-e",
                         "inject=getppid:delay_exit=200ms:when=3"},
                        {}, "a");
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_GE(ms, 500);  // both delays were served (a lower bound, not a timing claim)
  EXPECT_EQ(lines_of(read_file(s.path("a")), "parent getppid").size(), 4u);
  // SIGTERM on the first getppid: the probe dies of it, and sonde says so
  // with the shell's status for it.
  r = sonde_inject(s, {"-e", "inject=getppid:signal=SIGTERM:when=1"}, {}, "b");
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << describe(r);
  EXPECT_TRUE(contains(r.out, "+++ killed by SIGTERM +++")) << r.out;
  EXPECT_EQ(lines_of(read_file(s.path("b")), "parent getppid").size(), 0u);
}

TEST(Inject, LaunchedExitStatusIsSondes) {
  NEED_PTRACE();
  auto r =
      run_sonde({"inject", "local", "-e", "inject=getppid:retval=0", "--", "sh", "-c", "exit 3"});
  EXPECT_EQ(r.exit_code, 3) << describe(r);
}

const char* kOpener =
    "import os,sys,time\n"
    "print('READY', flush=True)\n"
    "fails=0\n"
    "for i in range(3000):\n"
    "  try: os.close(os.open('/etc/hostname', os.O_RDONLY))\n"
    "  except OSError: fails+=1\n"
    "  time.sleep(0.005)\n";

TEST(Inject, RunningProcessDetachedAfterDurationAndCount) {
  NEED_PTRACE();
  std::string ready;
  auto t = start_tracee({"python3", "-c", kOpener}, &ready);
  ASSERT_TRUE(t);
  ASSERT_EQ(ready, "READY");
  std::string pid = std::to_string(t->pid());
  auto r = run_sonde({"inject", "local", "-p", pid, "-e", "inject=openat:error=EACCES:when=2+",
                      "--duration", "1s"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "(--duration over)")) << r.out;
  EXPECT_TRUE(contains(r.out, "openat")) << r.out;
  EXPECT_TRUE(contains(r.out, "EACCES")) << r.out;
  // Let go and running: not traced, not stopped.
  EXPECT_TRUE(wait_until([&] { return tracer_pid(t->pid()) == 0; }, 3000));
  EXPECT_NE(proc_state(t->pid()), 't');
  EXPECT_NE(proc_state(t->pid()), 'T');
  r = run_sonde({"inject", "local", "-p", pid, "-e", "inject=openat:error=EACCES", "--count", "3",
                 "--duration", "20s"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "3 faults injected (--count reached)")) << r.out;
  EXPECT_TRUE(wait_until([&] { return tracer_pid(t->pid()) == 0; }, 3000));
  EXPECT_FALSE(proc_dead(t->pid()));
}

TEST(Inject, RefusesPid1AndPlanChangesNothing) {
  NEED_PTRACE();
  auto r = run_sonde({"inject", "local", "-p", "1", "-e", "inject=read:error=EIO"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(contains(r.err, "PID 1")) << r.err;
  EXPECT_TRUE(contains(r.err, "--force")) << r.err;
  r = run_sonde({"inject", "local", "-p", "1", "-e", "inject=read:error=EIO", "--duration", "11m"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);

  std::string ready;
  auto t = start_tracee({"python3", "-c", kOpener}, &ready);
  ASSERT_TRUE(t);
  r = run_sonde({"inject", "local", "-p", std::to_string(t->pid()), "-e",
                 "inject=openat:error=ENOENT:when=3+2", "-P", "/etc/hostname", "--plan"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "openat: fail with ENOENT; calls 3, 5, 7... of each thread"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "when the path is /etc/hostname")) << r.out;
  EXPECT_TRUE(contains(r.out, "nothing was changed")) << r.out;
  EXPECT_EQ(tracer_pid(t->pid()), 0);
  // Bad rules: a clear error, exit 2.
  for (const char* bad :
       {"inject=nosuch:error=EIO", "inject=read:error=ENOTANERRNO", "inject=read:when=0",
        "inject=read", "inject=read:error=EIO:retval=1", "inject=read:delay_enter=forever"}) {
    r = run_sonde({"inject", "local", "-p", std::to_string(t->pid()), "-e", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << describe(r);
    EXPECT_TRUE(contains(r.err, "hint:")) << bad << ": " << r.err;
  }
}

TEST(Inject, KilledAgentLeavesTheTargetRunning) {
  NEED_PTRACE();
  std::string ready;
  auto t = start_tracee({"python3", "-c", kOpener}, &ready);
  ASSERT_TRUE(t);
  ASSERT_EQ(ready, "READY");
  // A long delay: the agent holds a thread in a stop when it is killed.
  auto sonde = Tracee::start(
      {std::string(SONDE_BIN_DIR) + "/sonde", "inject", "local", "-p", std::to_string(t->pid()),
       "-e", "inject=openat:error=ENOENT:delay_enter=20s:when=2", "--duration", "30s"});
  ASSERT_TRUE(sonde);
  ASSERT_TRUE(wait_until([&] { return tracer_pid(t->pid()) != 0; }, 10000));
  pid_t agent = static_cast<pid_t>(tracer_pid(t->pid()));
  // Held in the delay: the thread is in a ptrace stop.
  ASSERT_TRUE(wait_until([&] { return proc_state(t->pid()) == 't'; }, 5000));
  ::kill(agent, SIGKILL);
  EXPECT_TRUE(wait_until([&] { return tracer_pid(t->pid()) == 0; }, 3000));
  EXPECT_TRUE(wait_until([&] { return proc_state(t->pid()) != 't'; }, 3000));
  EXPECT_FALSE(proc_dead(t->pid()));
  sonde->wait(5000);
}

TEST(Inject, ListShowsARunningSyscallInjectionAndClearEndsIt) {
  NEED_PTRACE();
  std::string ready;
  auto t = start_tracee({"python3", "-c", kOpener}, &ready);
  ASSERT_TRUE(t);
  ASSERT_EQ(ready, "READY");
  std::string pid = std::to_string(t->pid());
  auto run = Tracee::start({std::string(SONDE_BIN_DIR) + "/sonde", "inject", "local", "-p", pid,
                            "-e", "inject=openat:error=EACCES:when=5+", "--duration", "60s"});
  ASSERT_TRUE(run);
  ASSERT_TRUE(wait_until([&] { return tracer_pid(t->pid()) != 0; }, 10000));
  sonde::testing::Run list;
  ASSERT_TRUE(wait_until(
      [&] {
        list = run_sonde({"inject", "local", "--list"});
        return contains(list.out, "process " + pid + " (python3)");
      },
      5000))
      << describe(list) << list.out;
  EXPECT_TRUE(contains(list.out, "syscall")) << list.out;
  EXPECT_TRUE(contains(list.out, "openat: fail with EACCES")) << list.out;
  auto clear = run_sonde({"inject", "local", "--clear"});
  EXPECT_EQ(clear.exit_code, 0) << describe(clear);
  EXPECT_TRUE(contains(clear.out, "process " + pid)) << clear.out;
  // The run notices within 0.2 s, detaches, and says why it ended.
  auto st = run->wait(5000);
  ASSERT_TRUE(st) << "the injection did not end after --clear";
  EXPECT_EQ(WEXITSTATUS(*st), 0);
  run->pump(500);
  EXPECT_TRUE(contains(run->out(), "ended by sonde inject --clear")) << run->out();
  EXPECT_TRUE(wait_until([&] { return tracer_pid(t->pid()) == 0; }, 3000));
  EXPECT_FALSE(contains(run_sonde({"inject", "local", "--list"}).out, "process " + pid));
}

TEST(Inject, CaseJournalAndReportShowHowWeReproducedIt) {
  NEED_PTRACE();
  Scratch s;
  std::map<std::string, std::string> env = {{"SONDE_HOME", s.path("home")}};
  auto r = run_sonde({"case", "new", "outage"}, env);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = run_sonde(
      {"inject", "local", "-e", "inject=read:error=EIO:when=2", "--", kProbe, s.path("out")}, env);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = run_sonde({"report", "outage", "-o", s.path("report.md")}, env);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string md = read_file(s.path("report.md"));
  auto at = md.find("## How we reproduced it");
  ASSERT_NE(at, std::string::npos) << md;
  std::string section = md.substr(at, md.find("\n## ", at + 1) - at);
  EXPECT_TRUE(contains(section, "sonde inject local -e inject=read:error=EIO:when=2")) << section;
  EXPECT_TRUE(contains(section, "1 syscall fault injected from ")) << section;
  EXPECT_TRUE(contains(section, "ended: exited")) << section;
}

}  // namespace
}  // namespace sonde::testing
