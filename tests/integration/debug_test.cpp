// `sonde debug`: a real gdbserver on the "target" (this machine over the
// loopback sshd, or `local`), reached through sonde's forward, driven by a real
// gdb in batch mode. The tracee is stack_tracee_fp_pie in `chain` mode
// (main → chain_a → chain_b → chain_c, asleep in nanosleep), so a backtrace has
// known names. After every session the tracee must run on: not traced, not
// stopped.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/contains.h"
#include "support/other_user.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kTracee = std::string(SONDE_TARGETS_DIR) + "/stack_tracee_fp_pie";
const std::string kSonde = std::string(SONDE_BIN_DIR) + "/sonde";
const std::string kAgent = std::string(SONDE_BIN_DIR) + "/sonde-agent";

std::string describe_run(const sonde::testing::Run& r) {
  std::ostringstream o;
  o << "exit " << r.exit_code << (r.timed_out ? " (timed out)" : "") << "\nstdout:\n"
    << r.out << "\nstderr:\n"
    << r.err;
  return o.str();
}

std::unique_ptr<Tracee> start_chain() {
  auto t = Tracee::start({kTracee, "chain"});
  if (!t) return nullptr;
  auto ready = t->wait_line([](const std::string& l) { return l.rfind("READY ", 0) == 0; }, 5000);
  if (!ready) return nullptr;
  ::usleep(100000);  // READY comes just before the final call
  return t;
}

// Not traced, not stopped: the process runs on after a debugging session.
void expect_runs_on(pid_t pid) {
  EXPECT_TRUE(wait_until([&] { return tracer_pid(pid) == 0; }, 5000))
      << "still traced by " << tracer_pid(pid);
  char s = proc_state(pid);
  EXPECT_NE(s, 'T') << "left stopped";
  EXPECT_NE(s, 't') << "left in a tracing stop";
  EXPECT_FALSE(proc_dead(pid)) << "the process died";
}

// The listening TCP sockets on `port` from /proc/net/tcp: local addresses.
std::vector<std::string> listeners_on(int port) {
  std::vector<std::string> out;
  std::istringstream in(proc_read("/proc/net/tcp"));
  std::string line;
  std::getline(in, line);
  char want[8];
  std::snprintf(want, sizeof want, "%04X", port);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st;
    f >> sl >> local >> remote >> st;
    if (st != "0A") continue;  // LISTEN
    if (local.substr(local.find(':') + 1) == want) out.push_back(local.substr(0, local.find(':')));
  }
  return out;
}

// "CONNECTED", or "ERRNO <n> <text>": a connect to a Unix socket as `u`.
std::string connect_as(const OtherUser& u, const std::string& path) {
  auto r = run_as(u,
                  {"/usr/bin/python3", "-c",
                   "import socket, sys\n"
                   "s = socket.socket(socket.AF_UNIX)\n"
                   "try:\n"
                   "    s.connect(sys.argv[1]); print('CONNECTED')\n"
                   "except OSError as e:\n"
                   "    print('ERRNO', e.errno, e.strerror)\n",
                   path},
                  10000);
  return r.output;
}

// The socket sonde debug serves gdbserver on: a 0700 directory and a 0600
// socket of the agent's user (root here), and nobody else gets in.
void expect_socket_private(const std::string& path) {
  struct stat sd {
  }, ss{};
  std::string dir = path.substr(0, path.rfind('/'));
  ASSERT_EQ(::stat(dir.c_str(), &sd), 0) << dir;
  EXPECT_TRUE(S_ISDIR(sd.st_mode));
  EXPECT_EQ(sd.st_mode & 07777, 0700u) << dir;
  EXPECT_EQ(sd.st_uid, ::geteuid());
  ASSERT_EQ(::lstat(path.c_str(), &ss), 0) << path;
  EXPECT_TRUE(S_ISSOCK(ss.st_mode));
  EXPECT_EQ(ss.st_mode & 0777, 0600u) << path;
  EXPECT_EQ(ss.st_uid, ::geteuid());
  std::string why;
  auto other = other_user(&why);
  if (!other) {
    std::printf("note: no second user (%s): the connect as another user is not tried\n",
                why.c_str());
    return;
  }
  if (!fs::exists("/usr/bin/python3")) {
    std::printf(
        "note: no /usr/bin/python3 (scripts/setup.sh installs it): the connect as "
        "another user is not tried\n");
    return;
  }
  std::string got = connect_as(*other, path);
  EXPECT_TRUE(contains(got, "ERRNO 13 ")) << "another user connecting to " << path << ": " << got;
}

std::string json_string(const std::string& doc, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(doc, m, std::regex("\"" + key + "\": \"([^\"]*)\""))) return "";
  return m[1];
}

// Some tests run without sshd: each that needs it checks sshd_.
class DebugTest : public SshdSuite {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/sonde-debug-test-XXXXXX";
    if (::mkdtemp(tmpl)) tmp_ = tmpl;
    SshdSuite::SetUpTestSuite();
  }
  static void TearDownTestSuite() {
    SshdSuite::TearDownTestSuite();
    std::error_code ec;
    if (!tmp_.empty()) fs::remove_all(tmp_, ec);
  }
  void SetUp() override {
    std::string why;
    if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
    if (!find_in_path_("gdbserver") || !find_in_path_("gdb"))
      GTEST_SKIP() << "gdb and gdbserver needed (apt-get install gdb gdbserver)";
  }
  static bool find_in_path_(const std::string& name) {
    return run_cmd({"sh", "-c", "command -v " + name}, {}, 5000).exit_code == 0;
  }
  static std::map<std::string, std::string> env() {
    return {{"HOME", sshd_ ? sshd_->home() : tmp_}};
  }

  static inline std::string tmp_;
};

TEST_F(DebugTest, GdbGetsTheBacktraceThroughTheSshForward) {
  if (!sshd_) GTEST_SKIP() << why_;
  auto t = start_chain();
  ASSERT_TRUE(t) << "tracee did not start";
  auto dbg = Tracee::start({kSonde, "--json", "debug", sshd_->alias(), "-p",
                            std::to_string(t->pid()), "--remote-dir", tmp_ + "/remote"},
                           env());
  ASSERT_TRUE(dbg);
  auto line = dbg->wait_line([](const std::string& l) { return contains(l, "local_port"); }, 60000);
  ASSERT_TRUE(line) << "no local_port from sonde debug: " << dbg->out() << dbg->err();
  // --json prints one document: read until it closes.
  std::string doc = *line;
  while (auto more = dbg->next_line(5000)) {
    doc += *more;
    if (*more == "}") break;
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(doc, m, std::regex("\"local_port\": ([0-9]+)"))) << doc;
  int port = std::stoi(m[1]);
  std::string sock = json_string(doc, "remote_socket");
  ASSERT_FALSE(sock.empty()) << doc;

  // The agent serves gdbserver on a socket only its user reaches, over
  // direct-streamlocal; our forward is on loopback only.
  expect_socket_private(sock);
  EXPECT_EQ(listeners_on(port), std::vector<std::string>{"0100007F"});
  // Nothing is attached before a debugger connects.
  EXPECT_EQ(tracer_pid(t->pid()), 0);

  auto gdb =
      run_cmd({"gdb", "-batch", "-nx", "-ex", "target remote localhost:" + std::to_string(port),
               "-ex", "bt", "-ex", "detach"},
              {}, 90000);
  EXPECT_EQ(gdb.exit_code, 0) << describe_run(gdb);
  // gdb's own frame order: innermost first.
  auto at = [&](const std::string& fn) { return gdb.out.find(" " + fn + " "); };
  ASSERT_NE(at("chain_c"), std::string::npos) << describe_run(gdb);
  EXPECT_LT(at("chain_c"), at("chain_b")) << gdb.out;
  EXPECT_LT(at("chain_b"), at("chain_a")) << gdb.out;
  EXPECT_LT(at("chain_a"), at("main")) << gdb.out;
  expect_runs_on(t->pid());

  // A second debugger may come after the first: the forward stays up.
  auto again =
      run_cmd({"gdb", "-batch", "-nx", "-ex", "target remote localhost:" + std::to_string(port),
               "-ex", "bt", "-ex", "detach"},
              {}, 90000);
  EXPECT_NE(again.out.find(" chain_b "), std::string::npos) << describe_run(again);
  expect_runs_on(t->pid());

  dbg->signal(SIGINT);
  auto st = dbg->wait(20000);
  ASSERT_TRUE(st) << "sonde debug did not end on Ctrl-C";
  // Interrupted, like every command ended by Ctrl-C; the process released.
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 130) << wait_status_text(st) << dbg->err();
  EXPECT_TRUE(contains(dbg->err(), "runs on")) << dbg->err();
  expect_runs_on(t->pid());
  // The socket and its directory went with the session.
  EXPECT_FALSE(fs::exists(sock.substr(0, sock.rfind('/')))) << sock;
}

// `local`: the controller connects to the agent's socket itself. Another
// local user can neither connect to the socket nor see into its directory.
TEST_F(DebugTest, LocalSocketIsPrivateAndGoesWithTheSession) {
  auto t = start_chain();
  ASSERT_TRUE(t);
  auto dbg =
      Tracee::start({kSonde, "--json", "debug", "local", "-p", std::to_string(t->pid())}, env());
  ASSERT_TRUE(dbg);
  std::string doc;
  while (auto l = dbg->next_line(60000)) {
    doc += *l;
    if (*l == "}") break;
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(doc, m, std::regex("\"local_port\": ([0-9]+)")))
      << doc << dbg->err();
  int port = std::stoi(m[1]);
  std::string sock = json_string(doc, "remote_socket");
  ASSERT_FALSE(sock.empty()) << doc;
  expect_socket_private(sock);
  auto gdb =
      run_cmd({"gdb", "-batch", "-nx", "-ex", "target remote localhost:" + std::to_string(port),
               "-ex", "bt", "-ex", "detach"},
              {}, 90000);
  EXPECT_NE(gdb.out.find(" chain_b "), std::string::npos) << describe_run(gdb);
  expect_runs_on(t->pid());
  dbg->signal(SIGINT);
  auto st = dbg->wait(20000);
  ASSERT_TRUE(st) << "sonde debug did not end on Ctrl-C";
  EXPECT_FALSE(fs::exists(sock.substr(0, sock.rfind('/')))) << sock;
  expect_runs_on(t->pid());
}

// --via carries the agent's stdio only: refused with the way that works,
// and nothing is left listening on the target.
TEST_F(DebugTest, ViaIsRefusedWithAHint) {
  auto t = start_chain();
  ASSERT_TRUE(t);
  auto r =
      run_sonde({"--via", kAgent + " serve", "debug", "-p", std::to_string(t->pid())}, {}, 30000);
  EXPECT_EQ(r.exit_code, 2) << describe_run(r);
  EXPECT_TRUE(contains(r.err, "carries the agent's stdio only")) << r.err;
  EXPECT_TRUE(contains(r.err, "target remote | ")) << r.err;
  expect_runs_on(t->pid());
}

TEST_F(DebugTest, ControllerKilledWhileGdbIsAttachedLeavesTheProcessRunning) {
  if (!sshd_) GTEST_SKIP() << why_;
  auto t = start_chain();
  ASSERT_TRUE(t);
  auto dbg = Tracee::start({kSonde, "--json", "debug", sshd_->alias(), "-p",
                            std::to_string(t->pid()), "--remote-dir", tmp_ + "/remote"},
                           env());
  ASSERT_TRUE(dbg);
  std::string doc;
  while (auto l = dbg->next_line(60000)) {
    doc += *l;
    if (*l == "}") break;
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(doc, m, std::regex("\"local_port\": ([0-9]+)")))
      << doc << dbg->err();
  int port = std::stoi(m[1]);
  // gdb connects and waits (it reads commands from a pipe that stays open).
  auto gdb = Tracee::start(
      {"sh", "-c",
       "sleep 30 | gdb -nx -q -ex 'target remote localhost:" + std::to_string(port) + "'"});
  ASSERT_TRUE(gdb);
  ASSERT_TRUE(wait_until([&] { return tracer_pid(t->pid()) > 0; }, 60000))
      << "gdbserver never attached: " << dbg->err();
  // The controller dies without a word: the session ends, the agent sees EOF,
  // shuts the debugger's connection and gdbserver detaches.
  dbg->signal_group(SIGKILL);
  dbg->wait(5000);
  gdb->signal_group(SIGKILL);
  expect_runs_on(t->pid());
  // The agent removed its socket in its shutdown grace.
  std::string sock = json_string(doc, "remote_socket");
  ASSERT_FALSE(sock.empty()) << doc;
  EXPECT_TRUE(wait_until([&] { return !fs::exists(sock.substr(0, sock.rfind('/'))); }, 5000))
      << sock;
}

TEST_F(DebugTest, LocalGdbOptionRunsGdbWithTheArgumentsAfterDashDash) {
  auto t = start_chain();
  ASSERT_TRUE(t);
  auto r = run_sonde({"debug", "local", "-p", std::to_string(t->pid()), "--gdb", "--", "-batch",
                      "-nx", "-ex", "bt", "-ex", "detach"},
                     {}, 90000);
  EXPECT_EQ(r.exit_code, 0) << describe_run(r);
  EXPECT_TRUE(contains(r.out, " chain_c ")) << describe_run(r);
  EXPECT_TRUE(contains(r.out, "target remote localhost:")) << r.out;
  expect_runs_on(t->pid());
}

TEST_F(DebugTest, NoGdbserverOnTheTargetSaysWhichPackage) {
  auto t = start_chain();
  ASSERT_TRUE(t);
  auto r = run_sonde({"--via", "env PATH=/nonexistent " + kAgent + " serve", "debug", "-p",
                      std::to_string(t->pid())},
                     {}, 30000);
  EXPECT_EQ(r.exit_code, 1) << describe_run(r);
  EXPECT_TRUE(contains(r.err, "no gdbserver")) << r.err;
  EXPECT_TRUE(contains(r.err, "apt-get install gdbserver")) << r.err;
  expect_runs_on(t->pid());
}

TEST_F(DebugTest, BadPidsAndTracedProcessesAreRefusedClearly) {
  auto r = run_sonde({"debug", "local", "-p", "999999999"}, {}, 30000);
  EXPECT_EQ(r.exit_code, 1) << describe_run(r);
  EXPECT_TRUE(contains(r.err, "no process")) << r.err;

  auto t = start_chain();
  ASSERT_TRUE(t);
  auto strace = Tracee::start({"strace", "-p", std::to_string(t->pid()), "-o", "/dev/null"});
  ASSERT_TRUE(strace);
  ASSERT_TRUE(wait_until([&] { return tracer_pid(t->pid()) > 0; }, 10000));
  auto traced = run_sonde({"debug", "local", "-p", std::to_string(t->pid())}, {}, 30000);
  EXPECT_EQ(traced.exit_code, 1) << describe_run(traced);
  EXPECT_TRUE(contains(traced.err, "already traced")) << traced.err;
  strace->signal(SIGINT);
  strace->wait(5000);
  expect_runs_on(t->pid());
}

}  // namespace
}  // namespace sonde::testing
