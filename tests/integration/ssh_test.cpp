// The sonde controller over real SSH: a throwaway OpenSSH sshd on 127.0.0.1
// (tests/fixtures/sshd.sh), the real built `sonde` and `sonde-agent`. Covers
// parity of ssh / local / --via results, content-addressed deploy, host key
// and authentication refusals, connect failures that must be fast and
// bounded, an agent that dies mid-request, and --sudo.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent_client.h"
#include "sonde/common/io.h"
#include "sonde/common/protocol.h"
#include "sonde/common/subprocess.h"
#include "support/contains.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSonde = std::string(SONDE_BIN_DIR) + "/sonde";
const std::string kAgent = std::string(SONDE_BIN_DIR) + "/sonde-agent";
const std::string kFdHolder = std::string(SONDE_TARGETS_DIR) + "/fd_holder";

// Every sonde run in this file is bounded by this (plus run_cmd's own kill).
constexpr int kRunTimeoutMs = 15000;

json parse_json(const std::string& s) {
  return json::parse(s, nullptr, false);
}

std::string make_temp_dir(const char* prefix) {
  std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) return "";
  return buf.data();
}

std::string slurp(const std::string& path) {
  auto r = read_file(path);
  return r.ok() ? *r : std::string();
}

// NUL-separated /proc/PID/cmdline as words; empty when the process is gone.
std::vector<std::string> proc_argv(pid_t pid) {
  std::string raw = slurp("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> out;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    out.push_back(raw.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit))
      out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// Children of pid, over all its threads (the transport may spawn from any).
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::istringstream in(slurp(t.path().string() + "/children"));
    pid_t c;
    while (in >> c) out.push_back(c);
  }
  return out;
}

// Polls (bounded) until find() returns a pid.
template <class F>
pid_t wait_for_pid(F find, int timeout_ms) {
  long deadline = mono_ms() + timeout_ms;
  while (mono_ms() < deadline) {
    if (pid_t p = find(); p > 0) return p;
    ::usleep(20000);
  }
  return 0;
}

// ---------------------------------------------------------------------------
// One sshd (SshdSuite) and one scratch dir per test suite. Suite is the suite
// class itself (CRTP), so each suite gets its own scratch dir.
template <class Suite, bool kNeedsSshd = true>
class SshSuite : public SshdSuite {
 public:
  static void SetUpTestSuite() {
    tmp_ = make_temp_dir("sonde-ssh-test");
    ASSERT_FALSE(tmp_.empty()) << "mkdtemp: " << strerror(errno);
    // An empty HOME for runs that must not see any real ~/.ssh.
    fs::create_directories(tmp_ + "/emptyhome/.ssh");
    if (kNeedsSshd) SshdSuite::SetUpTestSuite();
  }
  static void TearDownTestSuite() {
    SshdSuite::TearDownTestSuite();
    if (!tmp_.empty()) {
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    }
  }

 protected:
  void SetUp() override {
    if (tmp_.empty()) GTEST_SKIP() << "no scratch dir";
    if (kNeedsSshd && !sshd_) GTEST_SKIP() << why_;
  }

  static Sshd& sshd() { return *sshd_; }
  // Environment for sonde: the fixture's HOME (its ssh config and known_hosts).
  static std::map<std::string, std::string> env() {
    return {{"HOME", sshd_ ? sshd_->home() : tmp_ + "/emptyhome"}};
  }
  // The suite's agent cache dir on the "target" (this machine).
  static std::string remote_dir() { return tmp_ + "/remote"; }
  static std::string hostport() { return "127.0.0.1:" + std::to_string(sshd_->port()); }
  static std::string known_hosts_name() { return "[127.0.0.1]:" + std::to_string(sshd_->port()); }

  static inline std::string tmp_;
};

// ===========================================================================
// 1. ssh, local and --via see the same process the same way.
class SshParity : public SshSuite<SshParity> {};

// The parts of `inspect` that must not depend on the transport.
json inspect_digest(const json& j) {
  json d;
  d["exe"] = j.value("exe", json());
  d["cmdline"] = j.value("cmdline", json());
  std::vector<std::string> threads;
  if (j.contains("threads") && j["threads"].is_array())
    for (const auto& t : j["threads"]) threads.push_back(t.value("name", ""));
  std::sort(threads.begin(), threads.end());
  d["threads"] = threads;
  json fds = json::object();
  std::vector<std::string> listen;
  if (j.contains("fds") && j["fds"].is_array()) {
    for (const auto& f : j["fds"]) {
      fds[std::to_string(f.value("fd", -1))] = f.value("target", "");
      if (f.contains("socket") && f["socket"].value("state", "") == "LISTEN")
        listen.push_back(f["socket"].value("local", ""));
    }
  }
  std::sort(listen.begin(), listen.end());
  d["fds"] = fds;
  d["listen"] = listen;
  return d;
}

TEST_F(SshParity, PsAndInspectMatchLocalAndVia) {
  const std::string held = tmp_ + "/held-file";
  { std::ofstream(held) << "x\n"; }
  std::string ready;
  auto t = start_tracee({kFdHolder, held}, &ready);
  ASSERT_TRUE(t) << "cannot start " << kFdHolder;
  ASSERT_EQ(ready.rfind("READY ", 0), 0u) << "fd_holder said: '" << ready << "'";
  int listen_port = 0, client_port = 0;
  ASSERT_EQ(std::sscanf(ready.c_str(), "READY %d %d", &listen_port, &client_port), 2) << ready;
  const std::string pid = std::to_string(t->pid());

  struct Way {
    std::string name;
    std::vector<std::string> global;  // before the command
    std::string target;               // "" with --via
  };
  const std::vector<Way> ways = {
      {"ssh", {"--remote-dir", remote_dir()}, sshd().alias()},
      {"local", {}, "local"},
      {"via", {"--via", kAgent + " serve"}, ""},
  };
  auto args_for = [](const Way& w, std::vector<std::string> cmd) {
    std::vector<std::string> a{"--json"};
    a.insert(a.end(), w.global.begin(), w.global.end());
    a.push_back(cmd[0]);
    if (!w.target.empty()) a.push_back(w.target);
    a.insert(a.end(), cmd.begin() + 1, cmd.end());
    return a;
  };

  // inspect
  std::map<std::string, json> digests;
  for (const auto& w : ways) {
    auto r = run_sonde(args_for(w, {"inspect", "-p", pid}), env(), kRunTimeoutMs);
    ASSERT_EQ(r.exit_code, 0) << w.name << ": " << describe(r);
    json j = parse_json(r.out);
    ASSERT_TRUE(j.is_object()) << w.name << ": not JSON: " << r.out;
    EXPECT_EQ(j.value("pid", 0), t->pid()) << w.name;
    digests[w.name] = inspect_digest(j);
  }
  const json& ssh = digests["ssh"];
  // Content, not just equality: the ssh view is the right one.
  EXPECT_EQ(ssh["exe"], fs::canonical(kFdHolder).string()) << ssh.dump(1);
  EXPECT_EQ(ssh["cmdline"], json::array({kFdHolder, held})) << ssh.dump(1);
  for (const char* name : {"fd_holder", "sonde-worker1", "sonde-worker2"})
    EXPECT_TRUE(std::count(ssh["threads"].begin(), ssh["threads"].end(), name))
        << name << " in " << ssh.dump(1);
  EXPECT_EQ(ssh["listen"], json::array({"127.0.0.1:" + std::to_string(listen_port)}))
      << ssh.dump(1);
  bool holds_file = false;
  for (const auto& [fd, target] : ssh["fds"].items()) holds_file |= target == held;
  EXPECT_TRUE(holds_file) << held << " not among fds: " << ssh["fds"].dump();
  EXPECT_EQ(digests["local"], ssh) << "local:\n"
                                   << digests["local"].dump(1) << "\nssh:\n"
                                   << ssh.dump(1);
  EXPECT_EQ(digests["via"], ssh) << "via:\n" << digests["via"].dump(1) << "\nssh:\n" << ssh.dump(1);

  // ps
  std::map<std::string, json> rows;
  for (const auto& w : ways) {
    auto r = run_sonde(args_for(w, {"ps", "--name", "fd_holder"}), env(), kRunTimeoutMs);
    ASSERT_EQ(r.exit_code, 0) << w.name << ": " << describe(r);
    json j = parse_json(r.out);
    ASSERT_TRUE(j.is_object() && j.contains("processes")) << w.name << ": " << r.out;
    json row;
    for (const auto& p : j["processes"])
      if (p.value("pid", 0) == t->pid())
        row = {
            {"pid", p["pid"]}, {"ppid", p["ppid"]}, {"user", p["user"]}, {"cmdline", p["cmdline"]}};
    ASSERT_FALSE(row.is_null()) << w.name << ": fd_holder " << pid << " missing from " << r.out;
    rows[w.name] = row;
  }
  EXPECT_EQ(rows["ssh"]["ppid"], ::getpid());
  EXPECT_EQ(rows["ssh"]["cmdline"], kFdHolder + " " + held);
  EXPECT_EQ(rows["local"], rows["ssh"]);
  EXPECT_EQ(rows["via"], rows["ssh"]);
}

// ===========================================================================
// 2. The agent is uploaded once per build, content-addressed.
class SshDeploy : public SshSuite<SshDeploy> {};

TEST_F(SshDeploy, UploadsOnceThenReusesTheCachedAgent) {
  const std::string dir = tmp_ + "/deploy-once";  // does not exist yet
  auto sum = run_cmd({"sha256sum", kAgent}, {}, 10000);
  ASSERT_EQ(sum.exit_code, 0) << describe(sum);
  ASSERT_GE(sum.out.size(), 64u);
  const std::string sha = sum.out.substr(0, 64);
  const std::string cached = dir + "/agent-" + sha;

  auto first = run_sonde({"-v", "ps", sshd().alias(), "--limit", "1", "--remote-dir", dir}, env(),
                         kRunTimeoutMs);
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  EXPECT_TRUE(contains(first.err, "deploy: uploading agent")) << first.err;
  EXPECT_TRUE(contains(first.out, "PID")) << first.out;

  struct stat st1 {};
  ASSERT_EQ(::stat(cached.c_str(), &st1), 0) << cached << ": " << strerror(errno);
  EXPECT_TRUE(S_ISREG(st1.st_mode));
  EXPECT_EQ(st1.st_mode & 07777, 0700u) << std::oct << (st1.st_mode & 07777);
  // The agent and the stamp of its checked hash: no temp file left behind
  // by the upload.
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(dir)) entries.push_back(e.path().filename().string());
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries, (std::vector<std::string>{".verified-" + sha, "agent-" + sha}));
  // The upload is the very same bytes.
  auto recheck = run_cmd({"sha256sum", cached}, {}, 10000);
  EXPECT_EQ(recheck.out.substr(0, 64), sha);

  auto second = run_sonde({"-v", "ps", sshd().alias(), "--limit", "1", "--remote-dir", dir}, env(),
                          kRunTimeoutMs);
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_FALSE(contains(second.err, "uploading")) << second.err;
  struct stat st2 {};
  ASSERT_EQ(::stat(cached.c_str(), &st2), 0);
  EXPECT_EQ(st2.st_ino, st1.st_ino) << "the cached agent was replaced";
  EXPECT_EQ(st2.st_mtim.tv_sec, st1.st_mtim.tv_sec);
  EXPECT_EQ(st2.st_mtim.tv_nsec, st1.st_mtim.tv_nsec);

  // The URL and user@host:port forms reach the same host (known_hosts names it
  // [127.0.0.1]:PORT) with the default key in $HOME/.ssh, and reuse the cache.
  for (const std::string& target : {"ssh://root@" + hostport(), "root@" + hostport()}) {
    auto r = run_sonde({"-v", "--json", "ps", target, "--limit", "1", "--remote-dir", dir}, env(),
                       kRunTimeoutMs);
    ASSERT_EQ(r.exit_code, 0) << target << ": " << describe(r);
    json j = parse_json(r.out);
    ASSERT_TRUE(j.is_object()) << target << ": " << r.out;
    EXPECT_EQ(j.value("shown", -1), 1) << target << ": " << r.out;
    EXPECT_FALSE(contains(r.err, "uploading")) << target << ": " << r.err;
  }
  struct stat st3 {};
  ASSERT_EQ(::stat(cached.c_str(), &st3), 0);
  EXPECT_EQ(st3.st_ino, st1.st_ino);
}

// Host aliases from a config of our own (-F), and ProxyCommand, which is
// what libssh 0.10 turns ProxyJump into: the session reaches sshd through
// OpenSSH's `ssh -W` over a first hop to the same sshd.
TEST_F(SshDeploy, ConfigFileAliasAndProxyCommandAreHonoured) {
  if (!have_program("ssh")) GTEST_SKIP() << "needs the OpenSSH client (openssh-client)";
  const std::string cfg = tmp_ + "/jump_config";
  {
    std::ofstream f(cfg);
    f << "Host jumped\n  HostName 127.0.0.1\n  Port " << sshd().port() << "\n  User root\n"
      << "  IdentityFile " << sshd().home() << "/.ssh/id_ed25519\n"
      << "  UserKnownHostsFile " << sshd().known_hosts() << "\n"
      << "  ProxyCommand ssh -F " << sshd().ssh_config() << " -o BatchMode=yes -W %h:%p "
      << sshd().alias() << "\n";
  }
  auto accepted = [&] {
    std::string log = slurp(sshd().dir() + "/sshd.log");
    size_t n = 0;
    for (size_t p = log.find("Accepted publickey"); p != std::string::npos;
         p = log.find("Accepted publickey", p + 1))
      ++n;
    return n;
  };
  size_t before = accepted();
  auto r = run_sonde({"-F", cfg, "--json", "hello", "jumped", "--remote-dir", remote_dir()}, env(),
                     kRunTimeoutMs);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json j = parse_json(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j.value("transport", ""), "ssh root@" + hostport());
  // The proxy really ran: two logins, the first hop's and ours through it.
  EXPECT_EQ(accepted() - before, 2u);
}

// ===========================================================================
// 3-5. Host keys and user keys.
class SshTrust : public SshSuite<SshTrust> {
 protected:
  void TearDown() override {
    // Whatever a test did to known_hosts, the next one starts trusted.
    if (sshd_) sshd_->trust();
  }
  // "SHA256:..." of the fixture's real host key, per ssh-keygen.
  static std::string host_fingerprint() {
    auto r = run_cmd({"ssh-keygen", "-l", "-f", sshd().dir() + "/host_ed25519.pub"}, {}, 10000);
    std::istringstream in(r.out);
    std::string bits, fp;
    in >> bits >> fp;
    return fp;
  }
  // The base64 blob of the fixture's real host key.
  static std::string host_key_blob() {
    std::istringstream in(slurp(sshd().dir() + "/host_ed25519.pub"));
    std::string type, blob;
    in >> type >> blob;
    return blob;
  }
};

TEST_F(SshTrust, UnknownHostIsRefusedThenAcceptedWithAcceptNew) {
  sshd().untrust();
  const std::vector<std::string> ps = {"ps", sshd().alias(), "--limit",
                                       "1",  "--remote-dir", remote_dir()};
  auto refused = run_sonde(ps, env(), kRunTimeoutMs);
  EXPECT_EQ(refused.exit_code, 5) << describe(refused);
  EXPECT_TRUE(contains(refused.err, "unknown host")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "SHA256:")) << refused.err;
  const std::string fp = host_fingerprint();
  ASSERT_EQ(fp.rfind("SHA256:", 0), 0u) << "ssh-keygen -l gave '" << fp << "'";
  EXPECT_TRUE(contains(refused.err, fp)) << "expected the real fingerprint " << fp << "\n"
                                         << refused.err;
  EXPECT_TRUE(contains(refused.err, "--accept-new")) << refused.err;
  EXPECT_EQ(slurp(sshd().known_hosts()), "") << "a refused key must not be recorded";

  std::vector<std::string> accept = {"--accept-new"};
  accept.insert(accept.end(), ps.begin(), ps.end());
  auto accepted = run_sonde(accept, env(), kRunTimeoutMs);
  EXPECT_EQ(accepted.exit_code, 0) << describe(accepted);
  const std::string kh = slurp(sshd().known_hosts());
  bool recorded = false;
  std::istringstream lines(kh);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string host, type, blob;
    words >> host >> type >> blob;
    if (host == known_hosts_name()) {
      recorded = true;
      EXPECT_EQ(type, "ssh-ed25519") << line;
      EXPECT_EQ(blob, host_key_blob()) << "recorded another key: " << line;
    }
  }
  EXPECT_TRUE(recorded) << "no " << known_hosts_name() << " line in known_hosts:\n" << kh;

  auto again = run_sonde(ps, env(), kRunTimeoutMs);
  EXPECT_EQ(again.exit_code, 0) << describe(again);
}

TEST_F(SshTrust, ChangedHostKeyIsRefusedEvenWithAcceptNew) {
  sshd().trust_other();
  const std::string before = slurp(sshd().known_hosts());
  const std::vector<std::string> ps = {"ps", sshd().alias(), "--limit",
                                       "1",  "--remote-dir", remote_dir()};
  auto r = run_sonde(ps, env(), kRunTimeoutMs);
  EXPECT_EQ(r.exit_code, 5) << describe(r);
  EXPECT_TRUE(contains(r.err, "HAS CHANGED")) << r.err;
  EXPECT_TRUE(contains(r.err, "ssh-keygen -R")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;

  std::vector<std::string> accept = {"--accept-new"};
  accept.insert(accept.end(), ps.begin(), ps.end());
  auto a = run_sonde(accept, env(), kRunTimeoutMs);
  EXPECT_EQ(a.exit_code, 5) << "--accept-new must not override a changed key: " << describe(a);
  EXPECT_TRUE(contains(a.err, "HAS CHANGED")) << a.err;
  EXPECT_EQ(slurp(sshd().known_hosts()), before) << "known_hosts was modified";
}

// Keys held by a real ssh-agent, with no key files in ~/.ssh at all.
TEST_F(SshTrust, AuthenticatesWithSshAgent) {
  if (!have_program("ssh-agent") || !have_program("ssh-add"))
    GTEST_SKIP() << "needs ssh-agent and ssh-add (openssh-client)";
  const std::string home = tmp_ + "/agenthome";
  fs::create_directories(home + "/.ssh");
  fs::copy_file(sshd().known_hosts(), home + "/.ssh/known_hosts",
                fs::copy_options::overwrite_existing);
  const std::string sock = tmp_ + "/agent.sock";
  auto started = run_cmd({"ssh-agent", "-a", sock}, {}, 10000);
  ASSERT_EQ(started.exit_code, 0) << describe(started);
  std::string agent_pid;
  if (auto p = started.out.find("SSH_AGENT_PID="); p != std::string::npos)
    agent_pid = started.out.substr(p + 14, started.out.find(';', p) - p - 14);
  std::map<std::string, std::string> env = {{"HOME", home}, {"SSH_AUTH_SOCK", sock}};
  auto add = run_cmd({"ssh-add", sshd().home() + "/.ssh/id_ed25519"}, env, 10000);
  EXPECT_EQ(add.exit_code, 0) << describe(add);

  auto r = run_sonde({"ps", "root@" + hostport(), "--limit", "1", "--remote-dir", remote_dir()},
                     env, kRunTimeoutMs);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  // Without the agent the same command has no key to offer.
  auto none = run_sonde({"ps", "root@" + hostport(), "--limit", "1", "--remote-dir", remote_dir()},
                        {{"HOME", home}}, kRunTimeoutMs);
  EXPECT_EQ(none.exit_code, 4) << describe(none);
  EXPECT_TRUE(contains(none.err, "SSH_AUTH_SOCK not set")) << none.err;
  if (!agent_pid.empty()) ::kill(std::stoi(agent_pid), SIGTERM);
}

// An agent that cannot be deployed (the cache dir cannot be created) is an
// agent error with the way out, not a hang or a crash.
TEST_F(SshTrust, UndeployableAgentSaysWhereAndWhatToDo) {
  auto r = run_sonde({"ps", sshd().alias(), "--remote-dir", "/proc/sonde-cannot-be-here"}, env(),
                     kRunTimeoutMs);
  EXPECT_EQ(r.exit_code, 6) << describe(r);
  EXPECT_TRUE(contains(r.err, "deploy")) << r.err;
  EXPECT_TRUE(contains(r.err, "--remote-dir")) << r.err;
}

TEST_F(SshTrust, WrongUserKeyIsAnAuthenticationFailureNamingTheKey) {
  auto r = run_sonde(
      {"-i", sshd().wrong_key(), "ps", "root@" + hostport(), "--remote-dir", remote_dir()}, env(),
      kRunTimeoutMs);
  EXPECT_EQ(r.exit_code, 4) << describe(r);
  EXPECT_TRUE(contains(r.err, "authentication failed")) << r.err;
  EXPECT_TRUE(contains(r.err, sshd().wrong_key())) << "should name the key it tried:\n" << r.err;
  EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

// ===========================================================================
// 6, 7, 9. Connect failures: fast, bounded, explained. No sshd needed.
class ConnectFailure : public SshSuite<ConnectFailure, false> {};

int tcp_socket(bool nonblocking) {
  return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  return ntohs(a.sin_port);
}

// A listener on 127.0.0.1:0 with the given backlog; -1 on failure.
int listener(int backlog, int* port) {
  int fd = tcp_socket(false);
  if (fd < 0) return -1;
  sockaddr_in a = loopback(0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0) {
    ::close(fd);
    return -1;
  }
  *port = bound_port(fd);
  return fd;
}

// Starts a non-blocking connect; the socket, or -1.
int start_connect(int port) {
  int fd = tcp_socket(true);
  if (fd < 0) return -1;
  sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True when a non-blocking connect completes (handshake done) within ms.
bool connect_completes(int fd, int ms) {
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, ms) != 1) return false;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err == 0;
}

TEST_F(ConnectFailure, ClosedPortIsRefusedFast) {
  int port = 0;
  int fd = listener(1, &port);
  ASSERT_GE(fd, 0) << strerror(errno);
  ::close(fd);  // nothing listens there now
  long t0 = mono_ms();
  auto r = run_sonde({"ps", "root@127.0.0.1:" + std::to_string(port)}, env(), 10000);
  long took = mono_ms() - t0;
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  EXPECT_LT(took, 3000) << "a refused connection must fail fast";
  EXPECT_TRUE(contains(r.err, "refused")) << r.err;
  EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
}

TEST_F(ConnectFailure, BlackholedPortTimesOutWithinConnectTimeout) {
  int port = 0;
  int lfd = listener(0, &port);
  ASSERT_GE(lfd, 0) << strerror(errno);
  std::vector<int> held;  // client sockets that are never accepted
  for (int i = 0; i < 2; ++i) {
    int c = start_connect(port);
    ASSERT_GE(c, 0) << strerror(errno);
    held.push_back(c);
  }
  connect_completes(held[0], 300);
  // With the accept queue full the kernel drops further SYNs: probe that.
  int probe = start_connect(port);
  ASSERT_GE(probe, 0);
  const bool blackholed = !connect_completes(probe, 300);
  ::close(probe);
  RecordProperty("mode", blackholed ? "syn-dropped" : "silent-server");

  // Fallback when handshakes still complete: a server that accepts and never
  // says a word (no SSH banner).
  std::atomic<bool> stop{false};
  std::thread mute;
  int mute_fd = -1;
  if (!blackholed) {
    for (int c : held) ::close(c);
    held.clear();
    ::close(lfd);
    lfd = -1;
    mute_fd = listener(16, &port);
    ASSERT_GE(mute_fd, 0) << strerror(errno);
    mute = std::thread([&] {
      std::vector<int> conns;
      while (!stop) {
        pollfd p{mute_fd, POLLIN, 0};
        if (::poll(&p, 1, 50) == 1) {
          int c = ::accept4(mute_fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (c >= 0) conns.push_back(c);
        }
      }
      for (int c : conns) ::close(c);
    });
  }

  long t0 = mono_ms();
  auto r = run_sonde({"--connect-timeout", "1s", "ps", "root@127.0.0.1:" + std::to_string(port)},
                     env(), 12000);
  long took = mono_ms() - t0;
  stop = true;
  if (mute.joinable()) mute.join();
  if (mute_fd >= 0) ::close(mute_fd);
  for (int c : held) ::close(c);
  if (lfd >= 0) ::close(lfd);

  EXPECT_FALSE(r.timed_out) << "sonde hung past --connect-timeout 1s: " << describe(r);
  if (blackholed) {
    EXPECT_EQ(r.exit_code, 3) << describe(r);
    EXPECT_GE(took, 800) << "gave up before --connect-timeout: " << describe(r);
    EXPECT_LT(took, 5000) << "--connect-timeout 1s took " << took << " ms";
    EXPECT_TRUE(contains(r.err, "timed out") || contains(r.err, "no answer")) << r.err;
    EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
  } else {
    // The kernel completed the handshake: the server is just silent.
    EXPECT_NE(r.exit_code, 0) << describe(r);
    EXPECT_LT(took, 1000 + 4000) << "silent server: --connect-timeout 1s took " << took << " ms";
  }
}

TEST_F(ConnectFailure, UnknownHostNameIsAResolveError) {
  long t0 = mono_ms();
  auto r = run_sonde({"ps", "nosuchhost.invalid"}, env(), 10000);
  EXPECT_FALSE(r.timed_out) << describe(r);
  EXPECT_LT(mono_ms() - t0, 10000);
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  EXPECT_TRUE(contains(r.err, "resolve")) << r.err;
  EXPECT_TRUE(contains(r.err, "nosuchhost.invalid")) << r.err;
}

// ===========================================================================
// 8, 10. The agent's life on the target.
class SshAgent : public SshSuite<SshAgent> {
 protected:
  struct Background {
    Child child;
    long started = 0;
  };

  // sonde ARGS in the background with our HOME and no ssh-agent; stderr piped.
  static std::optional<Background> start_sonde(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"env", "-u", "SSH_AUTH_SOCK"};
    for (const auto& [k, v] : env()) argv.push_back(k + "=" + v);
    argv.push_back(kSonde);
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions o;
    o.pipe_stdin = false;
    o.pipe_stderr = true;
    auto c = spawn(argv, o);
    if (!c.ok()) return std::nullopt;
    return Background{std::move(*c), mono_ms()};
  }

  // Reads what is left on the (exited) child's stderr, bounded.
  static std::string rest_of_stderr(Child& c) {
    std::string s;
    long deadline = mono_ms() + 2000;
    char buf[4096];
    while (mono_ms() < deadline) {
      auto r = wait_readable(c.err().get(), 100);
      if (!r.ok()) break;
      if (!*r) continue;
      auto n = read_some(c.err().get(), buf, sizeof buf);
      if (!n.ok() || *n == 0) break;
      s.append(buf, *n);
    }
    return s;
  }

  // Kills `agent` with SIGKILL and checks that sonde ends with exit 6 soon and
  // a hint; returns sonde's stderr (for the caller's check of what it says).
  static std::string kill_agent_and_expect_exit_6(Background& bg, pid_t agent) {
    ::usleep(300000);  // the ps request is in flight (its interval is 20 s)
    EXPECT_EQ(::kill(agent, SIGKILL), 0) << strerror(errno);
    long t0 = mono_ms();
    auto st = bg.child.wait(5000);
    long took = mono_ms() - t0;
    if (!st) {
      bg.child.kill(SIGKILL);
      bg.child.wait(2000);
      std::string err = rest_of_stderr(bg.child);
      ADD_FAILURE() << "sonde hung: still running 5 s after its agent was SIGKILLed; stderr: "
                    << err;
      return err;
    }
    std::string err = rest_of_stderr(bg.child);
    EXPECT_TRUE(WIFEXITED(*st)) << describe_wait_status(*st) << "; stderr: " << err;
    if (WIFEXITED(*st)) {
      EXPECT_EQ(WEXITSTATUS(*st), 6) << "stderr: " << err;
    }
    EXPECT_LT(took, 5000);
    EXPECT_TRUE(contains(err, "hint:")) << err;
    return err;
  }
};

TEST_F(SshAgent, AgentKilledMidRequestOverSshEndsWithExit6) {
  const std::string dir = remote_dir();
  // The agent runs exec'd from sshd's session: argv[0] is the cached file.
  const std::string prefix = dir + "/agent-";
  // Several rounds: what sonde says depends on the order in which sshd's
  // channel EOF and its exit-signal message arrive, and that order varies.
  constexpr int kRounds = 4;
  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto bg = start_sonde({"ps", sshd().alias(), "--interval", "20s", "--remote-dir", dir});
    ASSERT_TRUE(bg) << "cannot start sonde";
    pid_t agent = wait_for_pid(
        [&]() -> pid_t {
          for (pid_t p : all_pids()) {
            auto a = proc_argv(p);
            if (a.size() < 2 || a[0].rfind(prefix, 0) != 0 || a[1] != "serve") continue;
            // The undo watchdog is a fork of the agent with the same argv; once
            // pids wrap it can come first. Killing it would leave the agent
            // serving its 20 s ps and sonde rightly waiting.
            auto comm = read_file("/proc/" + std::to_string(p) + "/comm", 64);
            if (comm && comm->starts_with("sonde-watchdog")) continue;
            return p;
          }
          return 0;
        },
        10000);
    if (!agent) {
      bg->child.kill(SIGKILL);
      bg->child.wait(2000);
      FAIL() << "no process `" << prefix
             << "<sha> serve` appeared within 10 s; stderr: " << rest_of_stderr(bg->child);
    }
    std::string err = kill_agent_and_expect_exit_6(*bg, agent);
    if (HasFailure()) return;
    if (!contains(err, "KILL")) {
      ADD_FAILURE()
          << "CONTROLLER BUG (race): the agent was SIGKILLed but sonde says only \"agent ended\". "
             "SshTransport::explain_eof() (controller/transport/ssh_transport.cpp) reads "
             "exit_signal_ as soon as the channel reports EOF, but sshd sends the exit-signal "
             "message after the EOF, so it is often not processed yet. Expected \"agent killed "
             "by SIGKILL\" every time; got:\n"
          << err;
      return;
    }
  }
}

TEST_F(SshAgent, AgentKilledMidRequestLocallyEndsWithExit6) {
  auto bg = start_sonde({"ps", "local", "--interval", "20s"});
  ASSERT_TRUE(bg) << "cannot start sonde";
  const pid_t sonde = bg->child.pid();
  pid_t agent = wait_for_pid(
      [&]() -> pid_t {
        for (pid_t c : children_of(sonde)) {
          auto a = proc_argv(c);
          if (a.size() >= 2 && contains(a[0], "sonde-agent") && a[1] == "serve") return c;
        }
        return 0;
      },
      5000);
  if (!agent) {
    bg->child.kill(SIGKILL);
    bg->child.wait(2000);
    FAIL() << "no `sonde-agent serve` child of sonde " << sonde
           << " within 5 s; stderr: " << rest_of_stderr(bg->child);
  }
  std::string err = kill_agent_and_expect_exit_6(*bg, agent);
  EXPECT_TRUE(contains(err, "KILL")) << "should say the agent was killed: " << err;
}

TEST_F(SshAgent, SudoRunsTheAgentAsRootThroughSudo) {
  if (!have_program("sudo")) GTEST_SKIP() << "sudo is not installed (apt-get install sudo)";
  if (!is_root()) GTEST_SKIP() << "sudo -n needs a password unless we are root";
  const std::string dir = remote_dir();
  auto hello = run_sonde({"--json", "--sudo", "hello", sshd().alias(), "--remote-dir", dir}, env(),
                         kRunTimeoutMs);
  ASSERT_EQ(hello.exit_code, 0) << describe(hello);
  json h = parse_json(hello.out);
  ASSERT_TRUE(h.is_object()) << hello.out;
  EXPECT_EQ(h.value("euid", -1), 0) << hello.out;

  // sudo -n starts root's shell, which runs root's own copy of the agent
  // (deploy_test covers the copy and its checks).
  auto ps = run_sonde({"--json", "--sudo", "ps", sshd().alias(), "--name", "agent-", "--sort",
                       "pid", "--remote-dir", dir},
                      env(), kRunTimeoutMs);
  ASSERT_EQ(ps.exit_code, 0) << describe(ps);
  json j = parse_json(ps.out);
  ASSERT_TRUE(j.is_object() && j.contains("processes")) << ps.out;
  const std::string agent_cmd = "/var/cache/sonde/agent-";
  bool via_sudo = false;
  for (const auto& p : j["processes"]) {
    const std::string cmd = p.value("cmdline", "");
    if (p.value("comm", "") == "sudo" && cmd.rfind("sudo -n -- /bin/sh -c", 0) == 0)
      via_sudo = true;
  }
  EXPECT_TRUE(via_sudo) << "no `sudo -n -- /bin/sh -c ...` in:\n" << j.dump(1);
  bool root_copy = false;
  for (const auto& p : j["processes"])
    if (p.value("cmdline", "").rfind(agent_cmd, 0) == 0) root_copy = true;
  EXPECT_TRUE(root_copy) << "no " << agent_cmd << "<sha> in:\n" << j.dump(1);
}

}  // namespace
}  // namespace sonde::testing
