// `sonde trace` safety (issue 3, points 7 and 8): however a trace ends, the
// traced process keeps running, untraced and not stopped, and its output is
// intact. The target is `syscall_loop sleeper 30` (READY, then "TICK n" every
// 100 ms): after the trace ends its TICK lines keep coming with consecutive
// numbers, nothing missing and nothing foreign in between.
//
// Ways a trace ends, local and over a real sshd (tests/fixtures/sshd.sh, host
// alias from ~/.ssh/config): --duration, the SSH connection killed, the agent
// SIGKILLed, Ctrl-C to the controller, a target already traced by strace, a
// pid that does not exist, a target that exits mid-trace. Launched commands,
// unlike attached ones, die with the tracer (agent SIGKILLed, Ctrl-C).
//
// Every wait is bounded; each test's processes are SIGKILLed in teardown.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/contains.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSonde = std::string(SONDE_BIN_DIR) + "/sonde";
const std::string kSyscallLoop = std::string(SONDE_TARGETS_DIR) + "/syscall_loop";

// ---------------------------------------------------------------------------
// The target: `syscall_loop sleeper S`, and the check that its TICK lines are
// consecutive from 0 with nothing else among them.
class Sleeper {
 public:
  static std::unique_ptr<Sleeper> start(int seconds = 30) {
    auto t = Tracee::start({kSyscallLoop, "sleeper", std::to_string(seconds)});
    if (!t) return nullptr;
    std::unique_ptr<Sleeper> s(new Sleeper(std::move(t)));
    auto ready = s->t_->next_line(5000);
    if (!ready || *ready != "READY") {
      ADD_FAILURE() << "sleeper did not print READY: '" << ready.value_or("<nothing>") << "'";
      return nullptr;
    }
    return s;
  }
  pid_t pid() const { return t_->pid(); }
  Tracee& proc() { return *t_; }

  // Reads every line printed so far, then waits for `more` new ones; each must
  // be "TICK n" with n the next number. "" when all is well, else the problem.
  std::string expect_more_ticks(int more) {
    // What is already in the pipe.
    t_->pump(0);
    for (;;) {
      auto line = t_->next_line(0);
      if (!line) break;
      if (std::string p = check(*line); !p.empty()) return p;
    }
    for (int i = 0; i < more; ++i) {
      auto line = t_->next_line(2000);
      if (!line)
        return "no TICK " + std::to_string(next_) + " within 2 s (the target is stuck or dead, " +
               "state " + std::string(1, proc_state(pid()) ? proc_state(pid()) : '-') + ")";
      if (std::string p = check(*line); !p.empty()) return p;
    }
    return "";
  }
  int next_tick() const { return next_; }

 private:
  explicit Sleeper(std::unique_ptr<Tracee> t) : t_(std::move(t)) {}
  std::string check(const std::string& line) {
    std::string want = "TICK " + std::to_string(next_);
    if (line != want) return "expected '" + want + "', got '" + line + "'";
    ++next_;
    return "";
  }
  std::unique_ptr<Tracee> t_;
  int next_ = 0;
};

// After a trace ended: within timeout_ms the target is untraced, not stopped,
// alive; and it keeps ticking with consecutive numbers.
void expect_running_untraced(Sleeper& s, int timeout_ms = 3000) {
  const pid_t pid = s.pid();
  EXPECT_TRUE(wait_until([&] { return tracer_pid(pid) == 0; }, timeout_ms))
      << "TracerPid of " << pid << " is still " << tracer_pid(pid) << " after " << timeout_ms
      << " ms";
  char st = proc_state(pid);
  EXPECT_NE(st, '\0') << "the target died";
  EXPECT_NE(st, 'Z') << "the target died";
  EXPECT_NE(st, 'T') << "the target was left stopped";
  EXPECT_NE(st, 't') << "the target was left in a trace stop";
  EXPECT_EQ(s.expect_more_ticks(5), "") << "the target's output after the trace";
  EXPECT_GT(s.next_tick(), 5);
  EXPECT_FALSE(s.proc().wait(0)) << "the target exited";
}

bool wait_traced(pid_t pid, int timeout_ms = 5000) {
  return wait_until([&] { return tracer_pid(pid) > 0; }, timeout_ms);
}

// The process that traces pid: TracerPid may name a thread, so map it to its
// thread group.
pid_t tracer_process(pid_t pid) {
  long tid = tracer_pid(pid);
  if (tid <= 0) return 0;
  std::string tgid = proc_status_field(static_cast<pid_t>(tid), "Tgid");
  return tgid.empty() ? static_cast<pid_t>(tid) : static_cast<pid_t>(std::stol(tgid));
}

// The sonde-agent started by the local transport of controller `sonde`.
pid_t local_agent_of(pid_t sonde) {
  auto found = find_procs([&](pid_t p, const std::string& cmd) {
    return contains(cmd, "sonde-agent") && contains(cmd, "serve") && proc_descends_from(p, sonde);
  });
  return found.size() == 1 ? found[0] : 0;
}

// The command `syscall_loop sleeper 30` launched under `sonde` (by its agent).
pid_t launched_of(pid_t sonde) {
  auto found = find_procs([&](pid_t p, const std::string& cmd) {
    return cmd == kSyscallLoop + " sleeper 30" && proc_descends_from(p, sonde);
  });
  return found.size() == 1 ? found[0] : 0;
}

std::vector<std::string> trace_args(const std::string& target, std::vector<std::string> rest) {
  std::vector<std::string> a{kSonde, "trace", target};
  a.insert(a.end(), rest.begin(), rest.end());
  return a;
}

// ===========================================================================
// Local transport.
class TraceSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
  }
};

TEST_F(TraceSafety, AlreadyTracedFailsWithTheTracerNamedAndAHint) {
  if (!have_program("strace")) GTEST_SKIP() << "strace is not installed";
  auto s = Sleeper::start();
  ASSERT_TRUE(s);
  auto strace = Tracee::start({"strace", "-p", std::to_string(s->pid()), "-o", "/dev/null"});
  ASSERT_TRUE(strace);
  ASSERT_TRUE(wait_traced(s->pid())) << "strace never attached: " << strace->err();
  const long strace_tracer = tracer_pid(s->pid());
  EXPECT_EQ(tracer_process(s->pid()), strace->pid());

  auto r = run_sonde({"trace", "local", "-p", std::to_string(s->pid())}, {}, 10000);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "already traced by")) << r.err;
  EXPECT_TRUE(contains(r.err, "strace")) << "the other tracer is not named: " << r.err;
  EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
  // The target is unaffected: still strace's, still ticking.
  EXPECT_EQ(tracer_pid(s->pid()), strace_tracer);
  EXPECT_EQ(s->expect_more_ticks(3), "");

  // strace detaches on SIGINT; then the target is untraced and runs on.
  strace->signal(SIGINT);
  EXPECT_TRUE(strace->wait(5000)) << "strace did not exit after SIGINT";
  expect_running_untraced(*s);
}

TEST_F(TraceSafety, APidThatDoesNotExistFailsWithAHint) {
  // A pid that existed a moment ago and has been reaped.
  pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ASSERT_GT(gone, 0);
  ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);
  auto r = run_sonde({"trace", "local", "-p", std::to_string(gone)}, {}, 10000);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "no process")) << r.err;
  EXPECT_TRUE(contains(r.err, std::to_string(gone))) << r.err;
  EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
}

TEST_F(TraceSafety, ATargetThatExitsMidTraceEndsTheTrace) {
  // sleeper 1: ten ticks, about a second, then exit 0. The trace, with no
  // --duration, ends by itself when it does.
  auto s = Sleeper::start(1);
  ASSERT_TRUE(s);
  long t0 = tracee_now_ms();
  auto r = run_sonde({"trace", "local", "-p", std::to_string(s->pid())}, {}, 10000);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(r.timed_out) << "the trace did not end when its target did";
  EXPECT_LT(tracee_now_ms() - t0, 5000);
  EXPECT_TRUE(contains(r.out, "+++ exited with 0 +++")) << r.out;
  // It ran to its end with its output intact.
  auto st = s->proc().wait(3000);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << wait_status_text(st);
  std::string all = s->proc().out();
  std::string want = "READY\n";
  for (int i = 0; i < 10; ++i) want += "TICK " + std::to_string(i) + "\n";
  EXPECT_EQ(all, want);
}

TEST_F(TraceSafety, AgentKilledMidTraceLeavesTheTargetRunning) {
  auto s = Sleeper::start();
  ASSERT_TRUE(s);
  auto sonde = Tracee::start(trace_args("local", {"-p", std::to_string(s->pid())}));
  ASSERT_TRUE(sonde);
  ASSERT_TRUE(wait_traced(s->pid())) << "never attached: " << sonde->err();
  pid_t agent = local_agent_of(sonde->pid());
  ASSERT_GT(agent, 0) << "no sonde-agent under the controller";
  EXPECT_EQ(tracer_process(s->pid()), agent);
  // Some syscalls went by while traced.
  sonde->pump(300);
  ASSERT_EQ(::kill(agent, SIGKILL), 0);
  // The kernel detaches a dead tracer's tracees.
  expect_running_untraced(*s);
  auto st = sonde->wait(10000);
  ASSERT_TRUE(st) << "the controller hangs after its agent died";
  EXPECT_FALSE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << "the controller reports success although its agent was killed: " << sonde->err();
  EXPECT_TRUE(contains(sonde->out(), "clock_nanosleep(") || contains(sonde->out(), "nanosleep("))
      << sonde->out();
}

TEST_F(TraceSafety, LaunchedCommandDiesWithTheAgent) {
  auto sonde = Tracee::start(trace_args("local", {"--", kSyscallLoop, "sleeper", "30"}));
  ASSERT_TRUE(sonde);
  pid_t launched = 0;
  ASSERT_TRUE(wait_until([&] { return (launched = launched_of(sonde->pid())) > 0; }, 10000))
      << "the launched command never showed up: " << sonde->err();
  ASSERT_TRUE(wait_traced(launched));
  pid_t agent = local_agent_of(sonde->pid());
  ASSERT_GT(agent, 0);
  EXPECT_EQ(tracer_process(launched), agent);
  ASSERT_EQ(::kill(agent, SIGKILL), 0);
  // PTRACE_O_EXITKILL: the launched command goes with its tracer.
  EXPECT_TRUE(wait_until([&] { return proc_dead(launched); }, 2000))
      << "the launched command " << launched << " outlived its tracer (state "
      << proc_state(launched) << ")";
  auto st = sonde->wait(10000);
  EXPECT_TRUE(st) << "the controller hangs after its agent died";
  if (!proc_dead(launched)) ::kill(launched, SIGKILL);
}

TEST_F(TraceSafety, CtrlCOnALaunchEndsTheLaunchedCommand) {
  auto sonde = Tracee::start(trace_args("local", {"--", kSyscallLoop, "sleeper", "30"}));
  ASSERT_TRUE(sonde);
  pid_t launched = 0;
  ASSERT_TRUE(wait_until([&] { return (launched = launched_of(sonde->pid())) > 0; }, 10000))
      << "the launched command never showed up: " << sonde->err();
  ASSERT_TRUE(wait_traced(launched));
  // It runs under the trace: its ticks come back on sonde's stderr.
  EXPECT_TRUE(wait_until(
      [&] {
        sonde->pump(0);
        return contains(sonde->err(), "TICK 1\n");
      },
      3000))
      << sonde->err();
  sonde->signal(SIGINT);  // the controller only, as a kill -INT would
  auto st = sonde->wait(5000);
  ASSERT_TRUE(st) << "sonde did not exit after SIGINT";
  EXPECT_TRUE(WIFEXITED(*st)) << wait_status_text(st);
  EXPECT_TRUE(wait_until([&] { return proc_dead(launched); }, 2000))
      << "the launched command " << launched << " survived Ctrl-C (state " << proc_state(launched)
      << ")";
  if (!proc_dead(launched)) ::kill(launched, SIGKILL);
}

// ===========================================================================
// Over SSH: one throwaway sshd for the suite; HOST is the alias from
// $HOME/.ssh/config; the agent is deployed into the suite's scratch dir.
class TraceSafetySsh : public SshdSuite {
 public:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/sonde-trace-safety-XXXXXX";
    if (::mkdtemp(tmpl)) tmp_ = tmpl;
    if (!tmp_.empty()) SshdSuite::SetUpTestSuite();
  }
  static void TearDownTestSuite() {
    SshdSuite::TearDownTestSuite();
    std::error_code ec;
    if (!tmp_.empty()) fs::remove_all(tmp_, ec);
  }

 protected:
  void SetUp() override {
    if (tmp_.empty()) GTEST_SKIP() << "mkdtemp failed";
    SshdSuite::SetUp();
    if (IsSkipped()) return;
    std::string why;
    if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
  }

  static std::map<std::string, std::string> env() { return sshd_env(); }
  static std::string remote_dir() { return tmp_ + "/remote"; }

  // `sonde trace sonde-test -p PID ARGS... --remote-dir D`
  static std::vector<std::string> ssh_trace(pid_t pid, std::vector<std::string> more = {}) {
    std::vector<std::string> a{"trace", sshd_->alias(), "-p", std::to_string(pid)};
    a.insert(a.end(), more.begin(), more.end());
    a.insert(a.end(), {"--remote-dir", remote_dir()});
    return a;
  }
  // Started in the background, it has attached once the target shows a tracer.
  static std::unique_ptr<Tracee> start_ssh_trace(Sleeper& s) {
    std::vector<std::string> a{kSonde};
    auto rest = ssh_trace(s.pid());
    a.insert(a.end(), rest.begin(), rest.end());
    auto sonde = Tracee::start(a, env());
    if (!sonde) {
      ADD_FAILURE() << "cannot start sonde";
      return nullptr;
    }
    if (!wait_traced(s.pid(), 10000)) {
      sonde->pump(0);
      ADD_FAILURE() << "never attached over SSH: " << sonde->err();
      return nullptr;
    }
    return sonde;
  }
  // The agent tracing pid: the one this suite deployed (its binary lives in
  // remote_dir()), run by sshd as `agent-HASH serve`. 0 (and a failure) if the
  // tracer is anything else.
  static pid_t ssh_agent_tracing(pid_t pid) {
    pid_t agent = tracer_process(pid);
    std::string cmd = agent > 0 ? proc_cmdline(agent) : "";
    if (!contains(cmd, remote_dir() + "/agent-") || !contains(cmd, "serve")) {
      ADD_FAILURE() << "the tracer of " << pid << " is " << agent << " '" << cmd
                    << "', not the agent deployed to " << remote_dir();
      return 0;
    }
    return agent;
  }

  static inline std::string tmp_;
};

// Issue point 8: HOST is an alias from ~/.ssh/config; -c over SSH.
TEST_F(TraceSafetySsh, DurationOverSshGivesATableAndLeavesTheTargetRunning) {
  auto s = Sleeper::start();
  ASSERT_TRUE(s);
  long t0 = tracee_now_ms();
  auto r = run_sonde(ssh_trace(s->pid(), {"-c", "--duration", "2s"}), env(), 20000);
  long took = tracee_now_ms() - t0;
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_GE(took, 1900);
  EXPECT_LT(took, 10000);
  // The sleeper's nanosleep (clock_nanosleep in glibc): ~20 in 2 s.
  long sleeps = 0;
  bool total = false;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::vector<std::string> tok;
    for (std::string t; f >> t;) tok.push_back(t);
    if (tok.size() < 5) continue;
    if (tok.back() == "clock_nanosleep" || tok.back() == "nanosleep") sleeps += std::stol(tok[3]);
    if (tok.back() == "total") total = true;
  }
  EXPECT_TRUE(total) << r.out;
  EXPECT_GE(sleeps, 5) << r.out;
  expect_running_untraced(*s);
}

TEST_F(TraceSafetySsh, SshConnectionKilledMidTraceLeavesTheTargetRunning) {
  auto s = Sleeper::start();
  ASSERT_TRUE(s);
  auto sonde = start_ssh_trace(*s);
  ASSERT_TRUE(sonde);
  pid_t agent = ssh_agent_tracing(s->pid());
  ASSERT_GT(agent, 0);
  pid_t session = proc_ppid(agent);
  ASSERT_GT(session, 1);
  ASSERT_TRUE(contains(proc_cmdline(session), "sshd"))
      << "the agent's parent is " << proc_cmdline(session);
  sonde->pump(300);
  // The connection dies: the session process that carries it is gone.
  ASSERT_EQ(::kill(session, SIGKILL), 0);
  expect_running_untraced(*s, 3000);
  auto st = sonde->wait(10000);
  ASSERT_TRUE(st) << "the controller hangs after its connection died";
  EXPECT_FALSE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << "the controller reports success although the connection died: " << sonde->err();
  // The agent did not linger either.
  EXPECT_TRUE(wait_until([&] { return proc_dead(agent); }, 3000))
      << "the agent outlived its session";
}

TEST_F(TraceSafetySsh, AgentKilledMidTraceLeavesTheTargetRunning) {
  auto s = Sleeper::start();
  ASSERT_TRUE(s);
  auto sonde = start_ssh_trace(*s);
  ASSERT_TRUE(sonde);
  pid_t agent = ssh_agent_tracing(s->pid());
  ASSERT_GT(agent, 0);
  sonde->pump(300);
  ASSERT_EQ(::kill(agent, SIGKILL), 0);
  expect_running_untraced(*s);
  auto st = sonde->wait(10000);
  ASSERT_TRUE(st) << "the controller hangs after its agent died";
  EXPECT_FALSE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << "the controller reports success although its agent was killed: " << sonde->err();
}

TEST_F(TraceSafetySsh, CtrlCToTheControllerDetachesAndExits130) {
  auto s = Sleeper::start();
  ASSERT_TRUE(s);
  auto sonde = start_ssh_trace(*s);
  ASSERT_TRUE(sonde);
  // Let a few sleeps go by traced, then Ctrl-C.
  EXPECT_TRUE(wait_until(
      [&] {
        sonde->pump(0);
        return contains(sonde->out(), "nanosleep(");
      },
      3000))
      << sonde->out();
  sonde->signal(SIGINT);
  auto st = sonde->wait(5000);
  ASSERT_TRUE(st) << "sonde did not exit after SIGINT";
  // 130, as Ctrl-C in every command.
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 130)
      << wait_status_text(st) << ": " << sonde->err();
  expect_running_untraced(*s);
}

}  // namespace
}  // namespace sonde::testing
