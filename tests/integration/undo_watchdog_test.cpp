// The undo watchdog (issue 15 point 5): every change sonde makes to a target
// is undone when the agent dies in the middle of it. Each test starts a real
// agent (over pipes, as `local` and --via do; and once over the real sshd),
// waits until the change is in place on a real process, SIGKILLs the agent,
// and then polls, bounded, until the change is gone: a --colocate CPU mask,
// a gdbserver holding a process, a started JMX agent, a running JFR
// recording and its file. The bounds are generous; nothing here asserts a
// time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "agent_client.h"
#include "sonde/common/ports.h"
#include "support/contains.h"
#include "support/jvm.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kAgent = std::string(SONDE_BIN_DIR) + "/sonde-agent";
const std::string kSonde = std::string(SONDE_BIN_DIR) + "/sonde";
const std::string kSyscallLoop = std::string(SONDE_TARGETS_DIR) + "/syscall_loop";

// The watchdog undoes within about a second; this only keeps a broken one
// from hanging the test.
constexpr int kUndoBoundMs = 5000;

std::string cpus_allowed(pid_t pid) {
  return proc_status_field(pid, "Cpus_allowed_list");
}

// A sleeping tracee (syscall_loop sleeper): prints READY, then ticks.
std::unique_ptr<Tracee> start_sleeper(int seconds = 60) {
  auto t = Tracee::start({kSyscallLoop, "sleeper", std::to_string(seconds)});
  if (!t) return nullptr;
  auto ready = t->next_line(5000);
  if (!ready || *ready != "READY") return nullptr;
  return t;
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// An agent over pipes and what its hello said about its watchdog. argv is
// how it is started: directly (`local`), under a shell that stays its
// parent (as `--via CMD` does), or through `sudo -n` (--sudo).
struct Agent {
  explicit Agent(std::vector<std::string> argv) : client(std::move(argv)) {}
  AgentClient client;
  pid_t agent = 0;  // the agent itself, which may be a child of client.pid()
  pid_t watchdog = 0;

  static std::unique_ptr<Agent> start(std::vector<std::string> argv = {kAgent, "serve"}) {
    auto a = std::make_unique<Agent>(std::move(argv));
    if (!a->client.started()) {
      ADD_FAILURE() << "cannot start " << kAgent;
      return nullptr;
    }
    auto hello = a->client.recv(10000);
    if (!hello || (*hello)["kind"] != "hello") {
      ADD_FAILURE() << "no hello from the agent";
      return nullptr;
    }
    a->agent = (*hello)["data"].value("pid", 0);
    a->watchdog = (*hello)["data"].value("undo_watchdog", 0);
    if (a->watchdog <= 0) {
      ADD_FAILURE() << "the agent runs no undo watchdog: " << hello->dump();
      return nullptr;
    }
    return a;
  }
  // Events of request id until pred holds for one (returned) or the bound.
  std::optional<json> wait_event(uint64_t id, const std::function<bool(const json&)>& pred,
                                 int timeout_ms) {
    long deadline = mono_ms() + timeout_ms;
    while (mono_ms() < deadline) {
      auto m = client.recv(static_cast<int>(deadline - mono_ms()));
      if (!m) return std::nullopt;
      if ((*m)["id"] != id) continue;
      if ((*m)["kind"] != "event") {
        ADD_FAILURE() << "request " << id << " ended early: " << m->dump();
        return std::nullopt;
      }
      if (pred((*m)["data"])) return (*m)["data"];
    }
    return std::nullopt;
  }
  // SIGKILL: no destructor, no detach, no unpin of its own.
  void kill() {
    ASSERT_GT(agent, 0);
    killed_at = mono_ms();
    ASSERT_EQ(::kill(agent, SIGKILL), 0);
    EXPECT_TRUE(client.wait_exit(5000)) << "the agent (or what started it) did not end";
  }
  // It exits once it has undone everything: for the reader (not asserted),
  // how long that took after the kill.
  void expect_watchdog_exits() {
    EXPECT_TRUE(wait_until([&] { return proc_dead(watchdog); }, kUndoBoundMs))
        << "the watchdog " << watchdog << " is still there";
    if (killed_at > 0)
      std::printf("watchdog done %ld ms after the agent's SIGKILL\n", mono_ms() - killed_at);
  }
  long killed_at = 0;
};

void expect_runs_untraced(pid_t pid) {
  EXPECT_TRUE(wait_until([&] { return tracer_pid(pid) == 0; }, kUndoBoundMs))
      << "process " << pid << " still traced by " << tracer_pid(pid);
  EXPECT_TRUE(wait_until(
      [&] {
        char s = proc_state(pid);
        return s != 'T' && s != 't';
      },
      kUndoBoundMs))
      << "process " << pid << " left stopped (state " << proc_state(pid) << ")";
  EXPECT_FALSE(proc_dead(pid)) << "process " << pid << " died";
}

bool have_tool(const std::string& name) {
  return run_cmd({"sh", "-c", "command -v " + name}, {}, 5000).exit_code == 0;
}

// ---- the watchdog itself ------------------------------------------------

TEST(UndoWatchdog, HoldsNoPipeOfTheAgentAndLeavesWithIt) {
  auto a = Agent::start();
  ASSERT_TRUE(a);
  pid_t w = a->watchdog;
  // Its own session: sshd's hangup of the agent's group does not reach it.
  EXPECT_NE(::getsid(w), ::getsid(a->client.pid()));
  EXPECT_NE(proc_ppid(w), a->client.pid()) << "the agent's child: its waitpid(-1) would reap it";
  // It names itself once its fds are sorted out (the agent may answer
  // before that).
  ASSERT_TRUE(wait_until(
      [&] { return proc_read("/proc/" + std::to_string(w) + "/comm") == "sonde-watchdog\n"; },
      5000))
      << proc_read("/proc/" + std::to_string(w) + "/comm");
  // stdio on /dev/null, and nothing else but its socket: were it to hold the
  // agent's stdout, the controller would never see EOF.
  std::vector<std::string> fds;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(w) + "/fd")) {
    std::error_code ec;
    std::string target = fs::read_symlink(e.path(), ec).string();
    std::string name = e.path().filename().string();
    fds.push_back(name + "->" + target);
    if (name == "0" || name == "1" || name == "2") {
      EXPECT_EQ(target, "/dev/null") << "fd " << name;
    } else {
      EXPECT_EQ(name, "3") << "an fd the watchdog should have closed: " << target;
      EXPECT_EQ(target.rfind("socket:", 0), 0u) << target;
    }
  }
  EXPECT_EQ(fds.size(), 4u) << ::testing::PrintToString(fds);
  // A clean exit with nothing registered: it just goes.
  a->client.close_stdin();
  auto st = a->client.wait_exit(5000);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st)) << wait_status_text(st);
  a->expect_watchdog_exits();
}

TEST(UndoWatchdog, AgentKilledWithNothingRegisteredStillGivesEofAtOnce) {
  auto a = Agent::start();
  ASSERT_TRUE(a);
  a->kill();
  // The controller's read end: EOF, though the watchdog may still be alive.
  EXPECT_TRUE(a->client.at_eof(2000)) << "stdout still open after the agent died";
  a->expect_watchdog_exits();
}

// ---- trace --colocate ----------------------------------------------------

// The launchers of the transports: `local`, `--via CMD`, `--sudo`.
std::vector<std::string> launcher(const std::string& how) {
  if (how == "via") return {"sh", "-c", kAgent + " serve; exit $?"};  // sh stays the parent
  if (how == "sudo") return {"sudo", "-n", "--", kAgent, "serve"};
  return {kAgent, "serve"};
}

class UndoAffinity : public ::testing::TestWithParam<std::string> {};

TEST_P(UndoAffinity, AgentKilledMidColocatedTraceRestoresTheAffinity) {
  std::string why;
  if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
  if (::sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "--colocate needs 2 CPUs to show";
  if (GetParam() == "sudo" && run_cmd({"sudo", "-n", "true"}, {}, 10000).exit_code != 0)
    GTEST_SKIP() << "no passwordless sudo here";
  auto s = start_sleeper();
  ASSERT_TRUE(s);
  std::string before = cpus_allowed(s->pid());
  ASSERT_FALSE(before.empty());
  auto a = Agent::start(launcher(GetParam()));
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->client.send(make_request(
      1, "trace", {{"pids", {s->pid()}}, {"colocate", true}, {"summary_only", true}})));
  // Pinned: one CPU, and traced.
  ASSERT_TRUE(wait_until(
      [&] {
        std::string now = cpus_allowed(s->pid());
        return tracer_pid(s->pid()) > 0 && !now.empty() && now != before &&
               now.find_first_of(",-") == std::string::npos;
      },
      10000))
      << "never pinned: " << cpus_allowed(s->pid()) << " (was " << before << ")";
  a->kill();
  EXPECT_TRUE(wait_until([&] { return cpus_allowed(s->pid()) == before; }, kUndoBoundMs))
      << "affinity " << cpus_allowed(s->pid()) << ", was " << before;
  expect_runs_untraced(s->pid());
  a->expect_watchdog_exits();
}

INSTANTIATE_TEST_SUITE_P(Transports, UndoAffinity, ::testing::Values("local", "via", "sudo"));

TEST(UndoWatchdog, ColocatedTraceEndingNormallyLeavesNothingForTheWatchdog) {
  std::string why;
  if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
  if (::sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "--colocate needs 2 CPUs to show";
  if (!have_tool("taskset")) GTEST_SKIP() << "no taskset (util-linux)";
  auto s = start_sleeper();
  ASSERT_TRUE(s);
  std::string before = cpus_allowed(s->pid());
  auto a = Agent::start();
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->client.send(make_request(
      1, "trace",
      {{"pids", {s->pid()}}, {"colocate", true}, {"summary_only", true}, {"duration_ms", 500}})));
  auto r = a->client.recv_final(1, 10000);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["kind"], "result") << r->dump();
  EXPECT_EQ(cpus_allowed(s->pid()), before);
  // The tracee now sets its own mask; a watchdog that still held the old
  // record would overwrite it when the agent dies.
  std::string mine = before.substr(0, before.find_first_of(",-"));
  ASSERT_EQ(run_cmd({"taskset", "-pc", mine, std::to_string(s->pid())}, {}, 5000).exit_code, 0);
  a->kill();
  a->expect_watchdog_exits();
  EXPECT_EQ(cpus_allowed(s->pid()), mine) << "the watchdog undid a change already undone";
}

// ---- gdbserver ------------------------------------------------------------

TEST(UndoWatchdog, AgentKilledWhileGdbserverHoldsTheProcessReleasesIt) {
  std::string why;
  if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
  if (!have_tool("gdbserver")) GTEST_SKIP() << "no gdbserver (apt-get install gdbserver)";
  auto s = start_sleeper();
  ASSERT_TRUE(s);
  auto a = Agent::start();
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->client.send(make_request(1, "gdbserver", {{"pid", s->pid()}})));
  auto listening = a->wait_event(
      1, [](const json& d) { return d.contains("listening"); }, 10000);
  ASSERT_TRUE(listening);
  std::string path = (*listening)["listening"].get<std::string>();
  // The debugger's connection stays open: gdbserver would otherwise end by
  // itself, and this test would not show the watchdog at work.
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.data(), path.size());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto connected = a->wait_event(
      1, [](const json& d) { return d.contains("gdbserver_pid"); }, 10000);
  ASSERT_TRUE(connected);
  auto gdbserver = static_cast<pid_t>((*connected)["gdbserver_pid"].get<int>());
  ASSERT_TRUE(wait_until([&] { return tracer_pid(s->pid()) == gdbserver; }, 10000))
      << "gdbserver never attached; tracer " << tracer_pid(s->pid());
  a->kill();
  EXPECT_TRUE(wait_until([&] { return proc_dead(gdbserver); }, kUndoBoundMs))
      << "gdbserver " << gdbserver << " outlived the agent";
  std::string dir = std::filesystem::path(path).parent_path().string();
  EXPECT_TRUE(wait_until([&] { return !std::filesystem::exists(dir); }, kUndoBoundMs))
      << "the debugger's socket folder " << dir << " outlived the agent";
  expect_runs_untraced(s->pid());
  // Running: it keeps ticking.
  s->pump(0);
  while (s->next_line(0)) {
  }
  EXPECT_TRUE(s->next_line(3000)) << "no tick after the release";
  ::close(fd);
  a->expect_watchdog_exits();
}

// ---- JVM: JMX and JFR ---------------------------------------------------

TEST(UndoWatchdog, AgentKilledAfterStartingJmxStopsIt) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start();
  ASSERT_TRUE(jvm);
  int port = free_loopback_port();
  auto a = Agent::start();
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->client.send(make_request(1, "jvm.jmx", {{"pid", jvm->pid()}, {"port", port}})));
  // jvm.jmx holds the agent for the session: "started" comes as an event.
  auto r = a->wait_event(
      1, [](const json& d) { return d.value("event", "") == "started"; }, 60000);
  ASSERT_TRUE(r) << "no `started` event from jvm.jmx";
  ASSERT_EQ((*r)["already_running"], false) << r->dump();
  ASSERT_TRUE(port_open(port)) << "JMX is not listening on " << port;
  a->kill();
  EXPECT_TRUE(wait_until([&] { return !port_open(port); }, kUndoBoundMs))
      << "JMX still listening on " << port << " after the agent died";
  EXPECT_FALSE(proc_dead(jvm->pid()));
  a->expect_watchdog_exits();
}

TEST(UndoWatchdog, SessionEndingCleanlyStopsAJmxAgentLeftRunning) {
  REQUIRE_JAVA();
  auto jvm = Jvm::start();
  ASSERT_TRUE(jvm);
  int port = free_loopback_port();
  auto a = Agent::start();
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->client.send(make_request(1, "jvm.jmx", {{"pid", jvm->pid()}, {"port", port}})));
  // jvm.jmx holds the agent for the session: "started" comes as an event.
  auto r = a->wait_event(
      1, [](const json& d) { return d.value("event", "") == "started"; }, 60000);
  ASSERT_TRUE(r) << "no `started` event from jvm.jmx";
  ASSERT_TRUE(port_open(port));
  // The controller goes without sending `stop`: the session is over.
  a->client.close_stdin();
  ASSERT_TRUE(a->client.wait_exit(5000));
  EXPECT_TRUE(wait_until([&] { return !port_open(port); }, kUndoBoundMs))
      << "JMX still listening on " << port << " after the session ended";
  a->expect_watchdog_exits();
}

TEST(UndoWatchdog, AgentKilledMidJfrRecordingStopsItAndRemovesItsFile) {
  REQUIRE_JAVA();
  if (!have_tool("jcmd")) GTEST_SKIP() << "no jcmd to check the JVM's recordings with";
  auto jvm = Jvm::start();
  ASSERT_TRUE(jvm);
  std::string pid = std::to_string(jvm->pid());
  auto a = Agent::start();
  ASSERT_TRUE(a);
  ASSERT_TRUE(
      a->client.send(make_request(1, "jvm.jfr", {{"pid", jvm->pid()}, {"duration_ms", 120000}})));
  auto rec = a->wait_event(
      1, [](const json& d) { return d.value("phase", "") == "recording"; }, 60000);
  ASSERT_TRUE(rec);
  auto check = run_cmd({"jcmd", pid, "JFR.check"}, {}, 30000);
  ASSERT_TRUE(contains(check.out, "sonde-")) << "no sonde recording running: " << check.out;
  a->kill();
  // The watchdog's time first: each jcmd below takes a JVM start.
  a->expect_watchdog_exits();
  auto leftovers = [&] {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator("/tmp"))
      if (e.path().filename().string().rfind("sonde-" + pid + "-", 0) == 0)
        out.push_back(e.path().string());
    return out;
  };
  // Stopped: JFR.check lists no recording of ours.
  EXPECT_TRUE(wait_until(
      [&] {
        return !contains(run_cmd({"jcmd", pid, "JFR.check"}, {}, 30000).out, "sonde-");
      },
      kUndoBoundMs + 10000))
      << "the recording still runs: " << run_cmd({"jcmd", pid, "JFR.check"}, {}, 30000).out;
  EXPECT_TRUE(leftovers().empty()) << ::testing::PrintToString(leftovers());
  EXPECT_FALSE(proc_dead(jvm->pid()));
}

// ---- the SSH link dropped ---------------------------------------------------

TEST(UndoWatchdog, SshLinkDroppedMidColocatedTraceRestoresTheAffinity) {
  std::string why;
  if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
  if (::sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "--colocate needs 2 CPUs to show";
  char tmpl[] = "/tmp/sonde-undo-test-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  std::string tmp = tmpl;
  std::unique_ptr<Sshd> sshd(Sshd::start(&why));
  if (!sshd) {
    fs::remove_all(tmp);
    GTEST_SKIP() << why;
  }
  auto s = start_sleeper();
  ASSERT_TRUE(s);
  std::string before = cpus_allowed(s->pid());
  auto sonde = Tracee::start({kSonde, "trace", sshd->alias(), "-p", std::to_string(s->pid()), "-c",
                              "--colocate", "--remote-dir", tmp + "/remote"},
                             {{"HOME", sshd->home()}});
  ASSERT_TRUE(sonde);
  ASSERT_TRUE(wait_until(
      [&] {
        std::string now = cpus_allowed(s->pid());
        return tracer_pid(s->pid()) > 0 && now != before &&
               now.find_first_of(",-") == std::string::npos;
      },
      30000))
      << "never pinned over SSH: " << sonde->err();
  std::string tgid = proc_status_field(static_cast<pid_t>(tracer_pid(s->pid())), "Tgid");
  pid_t agent = static_cast<pid_t>(std::stol(tgid));
  ASSERT_TRUE(contains(proc_cmdline(agent), tmp + "/remote/agent-")) << proc_cmdline(agent);
  pid_t session = proc_ppid(agent);
  ASSERT_TRUE(contains(proc_cmdline(session), "sshd")) << proc_cmdline(session);
  // The link dies with the sshd process that carries it.
  ASSERT_EQ(::kill(session, SIGKILL), 0);
  EXPECT_TRUE(wait_until([&] { return cpus_allowed(s->pid()) == before; }, kUndoBoundMs))
      << "affinity " << cpus_allowed(s->pid()) << ", was " << before;
  expect_runs_untraced(s->pid());
  EXPECT_TRUE(wait_until([&] { return proc_dead(agent); }, kUndoBoundMs));
  EXPECT_TRUE(sonde->wait(15000)) << "the controller hangs after its link dropped";
  sshd.reset();
  std::error_code ec;
  fs::remove_all(tmp, ec);
}

// Here the agent sees EOF and exits cleanly: the JMX agent it started is a
// session-long change that only the watchdog undoes at the session's end.
TEST(UndoWatchdog, SshLinkDroppedWhileJmxIsForwardedStopsTheJmxAgent) {
  std::string why;
  REQUIRE_JAVA();
  if (!have_tool("jcmd")) GTEST_SKIP() << "no jcmd to ask the JVM with";
  char tmpl[] = "/tmp/sonde-undo-test-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  std::string tmp = tmpl;
  std::unique_ptr<Sshd> sshd(Sshd::start(&why));
  if (!sshd) {
    fs::remove_all(tmp);
    GTEST_SKIP() << why;
  }
  auto jvm = Jvm::start();
  ASSERT_TRUE(jvm);
  std::string pid = std::to_string(jvm->pid());
  auto remote_jmx = [&] {
    return contains(run_cmd({"jcmd", pid, "ManagementAgent.status"}, {}, 30000).out,
                    "Connection Type: remote");
  };
  ASSERT_FALSE(remote_jmx());
  auto sonde = Tracee::start(
      {kSonde, "jvm", "jmx", sshd->alias(), "-p", pid, "--remote-dir", tmp + "/remote"},
      {{"HOME", sshd->home()}});
  ASSERT_TRUE(sonde);
  ASSERT_TRUE(sonde->wait_line([](const std::string& l) { return contains(l, "URL "); }, 60000))
      << sonde->out() << sonde->err();
  ASSERT_TRUE(remote_jmx());
  auto agents = find_procs([&](pid_t p, const std::string& cmd) {
    return contains(cmd, tmp + "/remote/agent-") && contains(proc_cmdline(proc_ppid(p)), "sshd");
  });
  ASSERT_EQ(agents.size(), 1u) << "agents: " << ::testing::PrintToString(agents);
  pid_t session = proc_ppid(agents[0]);
  ASSERT_EQ(::kill(session, SIGKILL), 0);
  EXPECT_TRUE(wait_until([&] { return !remote_jmx(); }, kUndoBoundMs + 20000))
      << "the JMX agent still runs after the SSH link dropped";
  EXPECT_FALSE(proc_dead(jvm->pid()));
  EXPECT_TRUE(sonde->wait(15000)) << "the controller hangs after its link dropped";
  sshd.reset();
  std::error_code ec;
  fs::remove_all(tmp, ec);
}

}  // namespace
}  // namespace sonde::testing
