#include "netlab.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace sonde::testing {
namespace {

std::atomic<int> g_labs{0};

constexpr const char* kNetnsEtc = "/etc/netns";

void remove_tree(const std::string& path) {
  if (path.empty()) return;
  run_cmd({"rm", "-rf", "--one-file-system", path}, {}, 10000);
}

// Namespaces named "sonde<pid>-..." whose pid is gone were left by a test
// process that was killed before its destructor ran: delete them, so a crashed
// run does not leave bridges and veths behind for the next.
void reap_stale_namespaces() {
  DIR* d = ::opendir("/run/netns");
  if (!d) return;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("sonde", 0) != 0) continue;
    size_t dash = n.find('-');
    if (dash == std::string::npos || dash == 5) continue;
    std::string digits = n.substr(5, dash - 5);
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (::kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : stale) {
    run_cmd({"ip", "netns", "del", n}, {}, 10000);
    remove_tree(std::string(kNetnsEtc) + "/" + n);
  }
}

}  // namespace

bool NetLab::sh(const std::vector<std::string>& argv, std::string* err) {
  Run r = run_cmd(argv, {}, 15000);
  if (r.exit_code == 0) return true;
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  std::string why = cmd + ": " + describe(r);
  if (err)
    *err = why;
  else
    ADD_FAILURE() << "netlab: " << why;
  return false;
}

std::unique_ptr<NetLab> NetLab::create(std::string* why_not) {
  auto skip = [&](const std::string& why) -> std::unique_ptr<NetLab> {
    if (why_not) *why_not = why;
    return nullptr;
  };
  if (!is_root()) return skip("network namespaces need root (run the suite as root, as CI does)");
  if (!have_program("ip")) return skip("`ip` not found: apt-get install iproute2");
  if (!have_program("nft")) return skip("`nft` not found: apt-get install nftables");
  reap_stale_namespaces();

  std::unique_ptr<NetLab> lab(new NetLab());
  lab->prefix_ = "sonde" + std::to_string(::getpid()) + "-" + std::to_string(g_labs++) + "-";
  lab->sw_ = lab->prefix_ + "sw";
  char tmpl[] = "/tmp/sonde-netlab-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    ADD_FAILURE() << "netlab: mkdtemp: " << std::strerror(errno);
    return nullptr;
  }
  lab->dir_ = tmpl;
  std::string err;
  // The first namespace tells whether this machine lets us make them at all
  // (a container without CAP_SYS_ADMIN does not): that is a skip, not a failure.
  if (!lab->sh({"ip", "netns", "add", lab->sw_}, &err)) {
    lab->sw_.clear();
    return skip("cannot create network namespaces here: " + err);
  }
  if (!lab->sh({"ip", "-n", lab->sw_, "link", "add", "br0", "type", "bridge"}) ||
      !lab->sh({"ip", "-n", lab->sw_, "link", "set", "br0", "up"}))
    return nullptr;
  return lab;
}

NetLab::~NetLab() {
  // kill() takes each pid out of pids_: walk a copy.
  std::vector<pid_t> started = pids_;
  for (pid_t p : started) kill(p);
  for (const auto& h : hosts_) {
    if (h.ns.empty()) continue;
    run_cmd({"ip", "netns", "del", h.ns}, {}, 10000);
    remove_tree(std::string(kNetnsEtc) + "/" + h.ns);
  }
  if (!sw_.empty()) run_cmd({"ip", "netns", "del", sw_}, {}, 10000);
  remove_tree(dir_);
}

NetLab::Host NetLab::add_host(const std::string& name) {
  Host h;
  h.name = name;
  size_t n = hosts_.size() + 2;  // .1 is left for a gateway a test may add
  if (n > 250) {
    ADD_FAILURE() << "netlab: too many hosts";
    return h;
  }
  std::string ns = prefix_ + name;
  std::string port = "p" + std::to_string(n);
  std::string addr = "198.18.0." + std::to_string(n);
  if (!sh({"ip", "netns", "add", ns})) return h;
  h.ns = ns;  // from here on the destructor removes it
  hosts_.push_back(h);
  if (!sh({"ip", "-n", sw_, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns",
           ns}) ||
      !sh({"ip", "-n", sw_, "link", "set", port, "master", "br0", "up"}) ||
      !sh({"ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eth0"}) ||
      !sh({"ip", "-n", ns, "link", "set", "eth0", "up"}) ||
      !sh({"ip", "-n", ns, "link", "set", "lo", "up"})) {
    h.ns.clear();
    return h;
  }
  h.addr = addr;
  hosts_.back() = h;
  // Its own /etc/hosts: `ip netns exec` run from inside another lab host (a
  // --via agent started by a sonde in `client`) would otherwise see that
  // host's bind-mounted file.
  if (!etc_file(h, "hosts", "127.0.0.1 localhost\n::1 localhost\n" + addr + " " + name + "\n"))
    h.ns.clear();
  return h;
}

Run NetLab::exec(const Host& h, const std::vector<std::string>& argv,
                 const std::map<std::string, std::string>& env, int timeout_ms,
                 const std::string& stdin_data) {
  std::vector<std::string> full{"ip", "netns", "exec", h.ns};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_cmd(full, env, timeout_ms, stdin_data);
}

Run NetLab::sonde(const Host& h, const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env, int timeout_ms) {
  std::vector<std::string> argv{std::string(SONDE_BIN_DIR) + "/sonde"};
  argv.insert(argv.end(), args.begin(), args.end());
  return exec(h, argv, env, timeout_ms);
}

std::string NetLab::via_agent(const Host& h) const {
  return "ip netns exec " + h.ns + " " + std::string(SONDE_BIN_DIR) + "/sonde-agent serve";
}

pid_t NetLab::spawn(const Host& h, const std::vector<std::string>& argv,
                    const std::string& log_path) {
  std::vector<std::string> full{"ip", "netns", "exec", h.ns};
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> cargv;
  for (auto& s : full) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  std::string log = log_path.empty() ? "/dev/null" : log_path;
  pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "netlab: fork: " << std::strerror(errno);
    return -1;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in >= 0) ::dup2(in, 0);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execvp(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from here, so kill(-pid) works at once
  pids_.push_back(pid);
  return pid;
}

void NetLab::kill(pid_t pid) {
  if (pid <= 0) return;
  bool ours = false;
  for (auto it = pids_.begin(); it != pids_.end(); ++it)
    if (*it == pid) {
      pids_.erase(it);
      ours = true;
      break;
    }
  if (!ours) return;
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  int st;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

bool NetLab::nft(const Host& h, const std::string& ruleset) {
  Run r = exec(h, {"nft", "-f", "-"}, {}, 15000, ruleset);
  if (r.exit_code == 0) return true;
  ADD_FAILURE() << "netlab: nft in " << h.name << ": " << describe(r) << "\nruleset:\n" << ruleset;
  return false;
}

bool NetLab::etc_file(const Host& h, const std::string& file, const std::string& content) {
  if (h.ns.empty() || file.empty() || file.find('/') != std::string::npos) {
    ADD_FAILURE() << "netlab: etc_file needs a host and a plain file name";
    return false;
  }
  std::string d = std::string(kNetnsEtc) + "/" + h.ns;
  ::mkdir(kNetnsEtc, 0755);
  ::mkdir(d.c_str(), 0755);
  std::ofstream f(d + "/" + file, std::ios::trunc);
  f << content;
  f.close();
  if (!f) {
    ADD_FAILURE() << "netlab: cannot write " << d << "/" << file;
    return false;
  }
  return true;
}

bool NetLab::wait_listen(const Host& h, int port, int timeout_ms, bool udp) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<std::string> files =
      udp ? std::vector<std::string>{"/proc/net/udp", "/proc/net/udp6"}
          : std::vector<std::string>{"/proc/net/tcp", "/proc/net/tcp6"};
  std::vector<std::string> argv{"cat"};
  argv.insert(argv.end(), files.begin(), files.end());
  do {
    Run r = exec(h, argv, {}, 5000);
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, rem, st;
      if (!(f >> sl >> local >> rem >> st)) continue;
      size_t colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      long p = std::strtol(local.c_str() + colon + 1, nullptr, 16);
      // TCP: LISTEN (0A). UDP: any bound socket (07 = unconnected).
      if (p == port && (udp || st == "0A")) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

}  // namespace sonde::testing
