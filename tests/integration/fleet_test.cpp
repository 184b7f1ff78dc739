// Fleet runs on a lab of real sshd hosts on this machine
// (tests/fixtures/fleet_lab.sh): lab01..lab50, each its own sshd and host key
// on 127.0.0.(10+N). Two are down, one has a changed host key, one logs in as
// an unprivileged user (ptrace denied), one has netem latency. Runs fleet
// hello, ps, stack, trace and merge across them and checks the merged output,
// each failure class, the exit codes, --deadline, Ctrl-C and --log-dir.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sonde/common/frame.h"
#include "support/contains.h"
#include "support/run.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const char* const kLab = SONDE_SOURCE_DIR "/tests/fixtures/fleet_lab.sh";
constexpr int kHosts = 50;
constexpr int kDown1 = 47, kDown2 = 48, kRekeyed = 49, kUnprivileged = 50, kDelayed = 46;
constexpr int kRunTimeoutMs = 120000;

json parse_json(const std::string& s) {
  return json::parse(s, nullptr, false);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class FleetLab : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/sonde-lab-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      why_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    ::sonde::testing::Run r =
        run_cmd({"bash", kLab, "start", dir_, std::to_string(kHosts)}, {}, 60000);
    if (r.exit_code == 77) {
      why_ = "lab unavailable: " + trim_end(r.err);
      return;
    }
    if (r.exit_code != 0) {
      why_ = "fleet_lab.sh start failed: " + describe(r);
      failed_start_ = true;
      return;
    }
    auto lab = [&](std::vector<std::string> args) {
      args.insert(args.begin(), {"bash", kLab});
      ::sonde::testing::Run x = run_cmd(args, {}, 20000);
      if (x.exit_code != 0) ADD_FAILURE() << "fleet_lab.sh " << args[2] << ": " << describe(x);
    };
    lab({"down", dir_, std::to_string(kDown1)});
    lab({"down", dir_, std::to_string(kDown2)});
    lab({"rekey", dir_, std::to_string(kRekeyed)});
    lab({"delay", dir_, std::to_string(kDelayed), "100"});
    if (is_root()) lab({"unprivileged", dir_, std::to_string(kUnprivileged)});
    up_ = true;
  }
  static void TearDownTestSuite() {
    if (dir_.empty()) return;
    run_cmd({"bash", kLab, "stop", dir_}, {}, 30000);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

 protected:
  void SetUp() override {
    if (failed_start_) FAIL() << why_;
    if (!up_) GTEST_SKIP() << why_;
  }
  static std::map<std::string, std::string> env() { return {{"HOME", dir_ + "/home"}}; }
  static ::sonde::testing::Run sonde(std::vector<std::string> args) {
    return run_sonde(args, env(), kRunTimeoutMs);
  }
  static std::string host(int n) {
    char b[16];
    std::snprintf(b, sizeof b, "lab%02d", n);
    return b;
  }
  // Each host of a --json fleet run by name.
  static std::map<std::string, json> by_host(const json& doc) {
    std::map<std::string, json> m;
    if (doc.contains("hosts"))
      for (const auto& h : doc["hosts"]) m[h["host"].get<std::string>()] = h;
    return m;
  }

  static inline std::string dir_, why_;
  static inline bool up_ = false, failed_start_ = false;
};

TEST_F(FleetLab, HelloOverFiftyHostsNamesEveryFailureClass) {
  ::sonde::testing::Run r = sonde({"--json", "hello", "lab[01-50]"});
  ASSERT_EQ(r.exit_code, 7) << "some hosts failed: partial. " << describe(r) << r.out;
  json doc = parse_json(r.out);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  auto hosts = by_host(doc);
  ASSERT_EQ(hosts.size(), static_cast<size_t>(kHosts));
  EXPECT_EQ(hosts[host(kDown1)]["failure"], "unreachable") << hosts[host(kDown1)].dump();
  EXPECT_EQ(hosts[host(kDown2)]["failure"], "unreachable");
  EXPECT_EQ(hosts[host(kRekeyed)]["failure"], "host key") << hosts[host(kRekeyed)].dump();
  for (int n : {1, 2, 25, kDelayed, kUnprivileged}) {
    const json& h = hosts[host(n)];
    EXPECT_TRUE(h["ok"].get<bool>()) << h.dump();
    EXPECT_EQ(h["result"]["hostname"].is_string(), true) << h.dump();
    ASSERT_TRUE(h["result"]["clock"].is_object()) << h.dump();
    // The same machine's clock: the offset is within its own bound (+ slack).
    int64_t off = h["result"]["clock"]["offset_ns"].get<int64_t>();
    int64_t bound = h["result"]["clock"]["bound_ns"].get<int64_t>();
    EXPECT_LE(std::llabs(off), bound + 5'000'000) << h.dump();
  }
  if (is_root()) {
    // Logged in as sonde-lab: the agent says it may not ptrace others.
    EXPECT_EQ(hosts[host(kUnprivileged)]["result"]["euid"].get<long long>() != 0, true);
  }
  EXPECT_EQ(doc["summary"]["ok"].get<int>(), kHosts - 3);
  EXPECT_EQ(doc["summary"]["failures"]["unreachable"].size(), 2u);
  EXPECT_EQ(doc["exit_code"].get<int>(), 7);
}

TEST_F(FleetLab, HelloTextIsOneTableAndASummaryByClass) {
  ::sonde::testing::Run r = sonde({"hello", "lab[01-50]", "-v"});
  ASSERT_EQ(r.exit_code, 7) << describe(r);
  // One table: a header with HOST, then a row per host that answered.
  EXPECT_TRUE(contains(r.out, "HOST")) << r.out;
  for (int n : {1, 10, 45, kDelayed})
    EXPECT_TRUE(contains(r.out, host(n) + " ")) << host(n) << " missing:\n" << r.out;
  EXPECT_FALSE(contains(r.out, host(kDown1) + " ")) << r.out;
  // The summary on stderr: counts, classes and compressed host names.
  EXPECT_TRUE(contains(r.err, "47 of 50 hosts ok, 3 failed")) << r.err;
  EXPECT_TRUE(contains(r.err, "unreachable")) << r.err;
  EXPECT_TRUE(contains(r.err, "lab[47-48]")) << r.err;
  EXPECT_TRUE(contains(r.err, "host key")) << r.err;
  EXPECT_TRUE(contains(r.err, "connection refused")) << r.err;
  // The handshake cap held: never more than 16 in flight.
  auto at = r.err.find("SSH handshakes were in flight");
  ASSERT_NE(at, std::string::npos) << r.err;
  auto num = r.err.rfind("at most ", at);
  ASSERT_NE(num, std::string::npos);
  int peak = std::stoi(r.err.substr(num + 8));
  EXPECT_GE(peak, 1);
  EXPECT_LE(peak, 16) << r.err;
}

TEST_F(FleetLab, PsIsOneTableWithAHostColumn) {
  ::sonde::testing::Run r = sonde({"ps", "lab[01-10]", "--name", "sshd", "--interval", "0"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto nl = r.out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  std::string header = r.out.substr(0, nl);
  EXPECT_EQ(header.rfind("HOST", 0), 0u) << header;
  EXPECT_TRUE(contains(header, "PID")) << header;
  std::set<std::string> seen;
  for (size_t p = nl + 1; p < r.out.size();) {
    size_t e = r.out.find('\n', p);
    std::string line = r.out.substr(p, e - p);
    if (line.rfind("lab", 0) == 0) seen.insert(line.substr(0, 5));
    p = e == std::string::npos ? r.out.size() : e + 1;
  }
  EXPECT_EQ(seen.size(), 10u) << r.out;
  EXPECT_TRUE(contains(r.out, "on 10 hosts")) << r.out;
}

TEST_F(FleetLab, StackClassifiesPtraceDeniedAsPermission) {
  if (!is_root()) GTEST_SKIP() << "the unprivileged lab host needs root to set up";
  auto t = Tracee::start({"/bin/sleep", "60"});
  ASSERT_TRUE(t);
  std::string pid = std::to_string(t->pid());
  // One at a time: the lab's hosts are one machine, and a process has one tracer.
  ::sonde::testing::Run r =
      sonde({"--json", "stack", host(1) + "," + host(kUnprivileged), "-p", pid, "--fanout", "1"});
  EXPECT_EQ(r.exit_code, 7) << describe(r) << r.out;
  auto hosts = by_host(parse_json(r.out));
  EXPECT_TRUE(hosts[host(1)]["ok"].get<bool>()) << hosts[host(1)].dump();
  EXPECT_EQ(hosts[host(kUnprivileged)]["failure"], "permission")
      << hosts[host(kUnprivileged)].dump();
}

// trace -c over five hosts: one table summed over them, with n/N and the
// worst host; the one host that sleeps long is flagged as an outlier. Each
// host's agent knows which lab address it was reached on (SSH_CONNECTION).
TEST_F(FleetLab, TraceCountsMergeIntoOneTableWithTheWorstHost) {
  const std::string script =
      "case \"$SSH_CONNECTION\" in *' 127.0.0.13 '*) sleep 0.6 ;; *) sleep 0.02 ;; esac";
  ::sonde::testing::Run r =
      sonde({"trace", "lab[01-05]", "-c", "-f", "--", "/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "worst host")) << r.out;
  std::string sleep_row;
  for (size_t p = 0; p < r.out.size();) {
    size_t e = r.out.find('\n', p);
    std::string line = r.out.substr(p, e - p);
    if (contains(line, "nanosleep") && sleep_row.empty()) sleep_row = line;
    p = e == std::string::npos ? r.out.size() : e + 1;
  }
  ASSERT_FALSE(sleep_row.empty()) << r.out;
  EXPECT_TRUE(contains(sleep_row, " 5/5 ")) << sleep_row;
  EXPECT_TRUE(contains(sleep_row, "lab03")) << sleep_row;
  EXPECT_TRUE(contains(sleep_row, "!")) << sleep_row;
  EXPECT_TRUE(contains(r.out, "outliers")) << r.out;
  EXPECT_TRUE(contains(r.err, "5 of 5 hosts ok")) << r.err;

  ::sonde::testing::Run b = sonde({"trace", "lab[01-03]", "-c", "--by-host", "--", "/bin/true"});
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  std::string header = b.out.substr(0, b.out.find('\n'));
  for (int k = 1; k <= 3; ++k) EXPECT_TRUE(contains(header, host(k))) << header;
  EXPECT_TRUE(contains(b.out, "execve")) << b.out;

  ::sonde::testing::Run one = sonde({"trace", "lab01", "-c", "--by-host", "--", "/bin/true"});
  EXPECT_EQ(one.exit_code, 2) << describe(one);
  EXPECT_TRUE(contains(one.err, "give several")) << one.err;
}

// The same process on every host, named by --pgrep, and its threads grouped
// by where they are: every host is in the same place.
TEST_F(FleetLab, StackGroupsTheHostsStuckInTheSamePlace) {
  auto t = Tracee::start({"/bin/sleep", "61.25"});
  ASSERT_TRUE(t);
  ::sonde::testing::Run r =
      sonde({"stack", "lab[01-04]", "--pgrep", "^/bin/sleep 61\\.25", "--fanout", "1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "== 4 hosts, 4 threads: lab[01-04] ==")) << r.out;
  EXPECT_TRUE(contains(r.out, "nanosleep")) << r.out;
  EXPECT_TRUE(contains(r.out, "lab01 TID " + std::to_string(t->pid()))) << r.out;

  ::sonde::testing::Run none =
      sonde({"--json", "stack", "lab[01-02]", "--pgrep", "^no-such-process-here$"});
  EXPECT_EQ(none.exit_code, 8) << describe(none);
  auto hosts = by_host(parse_json(none.out));
  EXPECT_EQ(hosts["lab01"]["failure"], "command error") << none.out;
  EXPECT_TRUE(contains(none.out, "no process matches")) << none.out;
}

// profile across the whole lab: the same busy process on every host, one
// merged profile (folded lines start with the host), the hosts that cannot be
// reached or may not look named by class; then a differential flame graph of
// the other hosts against one, and the host as a root frame.
TEST_F(FleetLab, ProfileMergesTheLabIntoOneFlameGraph) {
  std::string ready;
  auto burner = start_tracee({target_path("cpu_burner"), "120"}, &ready);
  ASSERT_EQ(ready, "READY");
  const std::string pick = "^" + target_path("cpu_burner") + " 120$";
  const std::string folded = dir_ + "/fleet.folded";
  // --fanout 16: sixteen agents at a time share the two CPUs of a CI
  // machine with the one burner, not 46 (under a sanitizer, 46 at once
  // starved it through whole seconds, and one CI run lost a host).
  ::sonde::testing::Run r = sonde({"profile", "lab[01-50]", "--pgrep", pick, "--duration", "1s",
                                   "-o", folded, "--top", "5", "--fanout", "16"});
  EXPECT_EQ(r.exit_code, 7) << describe(r);
  const int ok_hosts = is_root() ? kHosts - 4 : kHosts - 3;
  EXPECT_TRUE(contains(r.out, std::to_string(ok_hosts) + " hosts: cpu profile")) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "HOTTEST")) << r.out;
  // Every host that was profiled spent its time in the burner's main. On a
  // loaded machine the burner can still miss a host's whole second: that
  // host says "no samples", has nothing to fold, and is not counted.
  std::set<std::string> starved;
  const std::string kStarved = ": no samples:";
  for (size_t at = r.out.find(kStarved); at != std::string::npos;
       at = r.out.find(kStarved, at + 1)) {
    size_t from = r.out.rfind("note: ", at);
    if (from != std::string::npos) starved.insert(r.out.substr(from + 6, at - from - 6));
  }
  EXPECT_LT(starved.size(), static_cast<size_t>(ok_hosts)) << r.out;
  EXPECT_TRUE(contains(r.out, std::to_string(ok_hosts - static_cast<int>(starved.size())) + "/" +
                                  std::to_string(ok_hosts) + "  main"))
      << r.out;
  EXPECT_TRUE(contains(r.err, "unreachable")) << r.err;
  EXPECT_TRUE(contains(r.err, "host key")) << r.err;
  if (is_root()) {
    EXPECT_TRUE(contains(r.err, "permission")) << r.err;
  }
  std::ifstream in(folded);
  ASSERT_TRUE(in) << "no " << folded << "\n" << r.err;
  std::set<std::string> hosts_in_file;
  for (std::string line; std::getline(in, line);) {
    hosts_in_file.insert(line.substr(0, line.find(';')));
    EXPECT_TRUE(contains(line, ";cpu_burner;")) << line;
  }
  EXPECT_EQ(hosts_in_file.size(), static_cast<size_t>(ok_hosts) - starved.size()) << r.out;
  EXPECT_EQ(hosts_in_file.count(host(1)), starved.count(host(1)) ? 0u : 1u) << r.out;
  EXPECT_EQ(hosts_in_file.count(host(kDown1)), 0u);

  const std::string diff = dir_ + "/diff.svg";
  ::sonde::testing::Run d = sonde({"profile", "lab[01-04]", "--pgrep", pick, "--duration", "1s",
                                   "-o", diff, "--diff-base", "lab01"});
  ASSERT_EQ(d.exit_code, 0) << describe(d);
  EXPECT_TRUE(contains(d.out, "base: lab01 (1 host), against: lab[02-04] (3 hosts)")) << d.out;
  EXPECT_TRUE(contains(d.out, "CHANGE")) << d.out;
  EXPECT_TRUE(contains(read_file(diff), "points)</title>")) << diff;

  const std::string by_host = dir_ + "/by-host.svg";
  ::sonde::testing::Run h = sonde(
      {"profile", "lab[01-03]", "--pgrep", pick, "--duration", "1s", "-o", by_host, "--by-host"});
  ASSERT_EQ(h.exit_code, 0) << describe(h);
  std::string svg = read_file(by_host);
  for (int k = 1; k <= 3; ++k) EXPECT_TRUE(contains(svg, "<title>" + host(k) + " (")) << k;

  ::sonde::testing::Run one = sonde({"profile", "lab01", "--pgrep", pick, "--diff-base", "lab01"});
  EXPECT_EQ(one.exit_code, 2) << describe(one);
  EXPECT_TRUE(contains(one.err, "give several")) << one.err;
  burner->signal(SIGKILL);
}

// inspect --pgrep over a fleet: one row per host for the same process.
TEST_F(FleetLab, InspectIsOneRowPerHost) {
  auto t = Tracee::start({"/bin/sleep", "61.75"});
  ASSERT_TRUE(t);
  ::sonde::testing::Run r = sonde({"inspect", "lab[01-03]", "--pgrep", "^/bin/sleep 61\\.75"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string header = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(header.rfind("HOST", 0), 0u) << r.out;
  for (int k = 1; k <= 3; ++k)
    EXPECT_TRUE(contains(r.out, host(k) + "  " + std::to_string(t->pid()))) << r.out;
  EXPECT_TRUE(contains(r.out, "/bin/sleep 61.75")) << r.out;
}

// connect --from a fleet: every lab host tries the same port, one line each.
TEST_F(FleetLab, ConnectFromAFleetIsOneMatrix) {
  std::ifstream pf(dir_ + "/port");
  std::string port;
  std::getline(pf, port);
  ::sonde::testing::Run r =
      sonde({"connect", "127.0.0.11:" + port, "--from", "lab[01-05]", "-c", "1", "-w", "2s"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "SIDE")) << r.out;
  for (int k = 1; k <= 5; ++k) EXPECT_TRUE(contains(r.out, host(k) + " ")) << r.out;
  EXPECT_TRUE(contains(r.out, "6 sides: 6 open")) << r.out;
  // A port nothing listens on: refused from every side, and exit 1.
  ::sonde::testing::Run down =
      sonde({"connect", "127.0.0.57:" + port, "--from", "lab[01-05]", "-c", "1", "-w", "2s"});
  EXPECT_EQ(down.exit_code, 1) << describe(down);
  EXPECT_TRUE(contains(down.out, "6 sides: 6 refused")) << down.out;
}

// dns, tls and diagnose --from a fleet: one line per side, as connect.
TEST_F(FleetLab, DnsTlsAndDiagnoseFromAFleetAreMatrices) {
  std::ifstream pf(dir_ + "/port");
  std::string port;
  std::getline(pf, port);
  ::sonde::testing::Run dns = sonde({"dns", "localhost", "--from", "lab[01-05]"});
  ASSERT_EQ(dns.exit_code, 0) << describe(dns);
  EXPECT_TRUE(contains(dns.out, "SYSTEM RESOLVER")) << dns.out;
  EXPECT_TRUE(contains(dns.out, "6 sides: 6 ok")) << dns.out;
  for (int k = 1; k <= 5; ++k) EXPECT_TRUE(contains(dns.out, host(k) + " ")) << dns.out;

  // sshd speaks first and is not TLS: the same verdict on every side.
  ::sonde::testing::Run tls = sonde({"tls", "127.0.0.11:" + port, "--from", "lab[01-05]"});
  EXPECT_EQ(tls.exit_code, 1) << describe(tls);
  EXPECT_TRUE(contains(tls.out, "LEAF CERT")) << tls.out;
  EXPECT_TRUE(contains(tls.out, "6 sides: 6 not_tls")) << tls.out;

  ::sonde::testing::Run diag =
      sonde({"diagnose", "127.0.0.11:" + port, "--from", "lab[01-05]", "--count", "1"});
  ASSERT_EQ(diag.exit_code, 0) << describe(diag);
  EXPECT_TRUE(contains(diag.out, "LADDER")) << diag.out;
  EXPECT_TRUE(contains(diag.out, "6 sides: 6 ok")) << diag.out;
  EXPECT_TRUE(contains(diag.out, "verdict:")) << diag.out;
}

// capture over a fleet: a pcap per host, and one summary of every host's
// counts with the flows merged by server. Traffic: a listener here and a
// client that connects to it every 100 ms (bounded: 30 connections) while
// the hosts capture.
TEST_F(FleetLab, CaptureWritesAPcapPerHostAndMergesTheFlows) {
  if (!is_root()) GTEST_SKIP() << "capture needs root";
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd, 64), 0);
  ASSERT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string port = std::to_string(ntohs(a.sin_port));
  std::atomic<bool> stop{false};
  std::thread traffic([&] {
    for (int i = 0; i < 30 && !stop; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (c < 0) continue;
      if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        int s = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        (void)!::write(c, "ping", 4);
        if (s >= 0) ::close(s);
      }
      ::close(c);
    }
  });
  const std::string pcap = dir_ + "/cap.pcap";
  ::sonde::testing::Run r = sonde(
      {"capture", "lab[01-03]", "-i", "lo", "--duration", "2s", "-w", pcap, "tcp", "port", port});
  stop = true;
  traffic.join();
  ::close(lfd);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "PCAP")) << r.out;
  for (int k = 1; k <= 3; ++k) {
    std::string file = dir_ + "/cap." + host(k) + ".pcap";
    EXPECT_TRUE(fs::exists(file)) << file << "\n" << r.out;
    EXPECT_TRUE(contains(r.out, file)) << r.out;
  }
  EXPECT_TRUE(contains(r.out, "flows by server, across hosts")) << r.out;
  EXPECT_TRUE(contains(r.out, "127.0.0.1:" + port + "    3/3")) << r.out;
  // The capture's hosts had their clocks measured: the resets (each close
  // after a write) are listed on this machine's clock.
  EXPECT_TRUE(contains(r.out, "on this machine's clock")) << r.out;

  ::sonde::testing::Run stream = sonde({"capture", "lab[01-02]", "-w", "-", "-c", "1"});
  EXPECT_EQ(stream.exit_code, 8) << describe(stream);
  EXPECT_TRUE(contains(stream.err, "a fleet writes a pcap per host")) << stream.err;
}

// trace without -c over a fleet: the hosts' lines in one stream on this
// machine's clock. lab03 sleeps 0.6 s and the others 20 ms, so its exit is
// the last line, and every line names its host.
TEST_F(FleetLab, TraceEventsOfManyHostsAreOneStreamOnOneClock) {
  const std::string script =
      "case \"$SSH_CONNECTION\" in *' 127.0.0.13 '*) sleep 0.6 ;; *) sleep 0.02 ;; esac";
  ::sonde::testing::Run r =
      sonde({"trace", "lab[01-03]", "-tt", "-f", "-e", "trace=nanosleep,clock_nanosleep", "--",
             "/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "3 hosts in one stream, in time order on this machine's clock"))
      << r.out;
  // Each host's measured offset, + or -: on one machine it is a few
  // microseconds either way.
  EXPECT_TRUE(contains(r.out, "clocks: lab01 +") || contains(r.out, "clocks: lab01 -")) << r.out;
  std::vector<std::string> lines;
  for (size_t p = 0; p < r.out.size();) {
    size_t e = r.out.find('\n', p);
    if (e == std::string::npos) e = r.out.size();
    lines.push_back(r.out.substr(p, e - p));
    p = e + 1;
  }
  ASSERT_GE(lines.size(), 8u) << r.out;
  int exits = 0;
  for (size_t i = 2; i < lines.size(); ++i) {
    EXPECT_TRUE(contains(lines[i], " lab0")) << lines[i];
    exits += contains(lines[i], "+++ exited with 0 +++");
  }
  EXPECT_EQ(exits, 6) << "sh and its sleep on each host:\n" << r.out;
  EXPECT_TRUE(contains(lines.back(), "lab03")) << "the long sleeper ends last:\n" << r.out;
  EXPECT_TRUE(contains(lines.back(), "+++ exited with 0 +++")) << r.out;
}

TEST_F(FleetLab, IdenticalTextOutputIsGroupedByHosts) {
  // `trace -e none` of a launched `true`: each host prints the same exit line.
  ::sonde::testing::Run r = sonde({"trace", "lab[01-12]", "-e", "trace=none", "--", "/bin/true"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "== lab[01-12] (12 hosts) ==")) << r.out;
  EXPECT_TRUE(contains(r.out, "+++ exited with 0 +++")) << r.out;
}

TEST_F(FleetLab, DeadlineStopsTheRunAndCallsTheHostsTimedOut) {
  long t0 = ::time(nullptr);
  ::sonde::testing::Run r =
      sonde({"--json", "--deadline", "2s", "trace", "lab01,lab02", "--", "/bin/sleep", "30"});
  long took = ::time(nullptr) - t0;
  EXPECT_EQ(r.exit_code, 8) << "every host failed: " << describe(r) << r.out;
  EXPECT_LT(took, 20) << "the deadline must end the run";
  auto hosts = by_host(parse_json(r.out));
  EXPECT_EQ(hosts["lab01"]["failure"], "timeout") << r.out;
  EXPECT_EQ(hosts["lab02"]["failure"], "timeout") << r.out;
}

TEST_F(FleetLab, CtrlCPrintsWhatWasGatheredAndNamesTheUnfinished) {
  std::string cmd = "'" + std::string(SONDE_BIN_DIR) +
                    "/sonde' trace lab01,lab02 -- /bin/sleep 30 & p=$!; sleep 3; kill -INT $p; "
                    "wait $p";
  ::sonde::testing::Run r = run_cmd({"bash", "-c", cmd}, env(), 60000);
  EXPECT_EQ(r.exit_code, 130) << describe(r);
  EXPECT_TRUE(contains(r.err, "did not finish: lab[01-02]")) << r.err;
}

TEST_F(FleetLab, LogDirLinesMergeBackIntoOneView) {
  std::string d1 = dir_ + "/logs1", d2 = dir_ + "/logs2";
  ::sonde::testing::Run a =
      sonde({"ps", "lab[01-03]", "--name", "sshd", "--interval", "0", "--log-dir", d1});
  ASSERT_EQ(a.exit_code, 0) << describe(a);
  ::sonde::testing::Run b =
      sonde({"ps", "lab[04-05],lab47", "--name", "sshd", "--interval", "0", "--log-dir", d2});
  ASSERT_EQ(b.exit_code, 7) << describe(b);
  // One JSON line per host, and each host's output beside it.
  std::ifstream lines(d1 + "/hosts.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    json j = parse_json(line);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j["command"], "ps");
    EXPECT_TRUE(j["result"].is_object());
    ++n;
  }
  EXPECT_EQ(n, 3);
  EXPECT_TRUE(fs::exists(d1 + "/lab01.out"));
  ::sonde::testing::Run m = sonde({"merge", d1, d2});
  EXPECT_EQ(m.exit_code, 7) << describe(m);
  for (int k = 1; k <= 5; ++k) EXPECT_TRUE(contains(m.out, host(k) + " ")) << m.out;
  EXPECT_TRUE(contains(m.err, "5 of 6 hosts ok")) << m.err;
  EXPECT_TRUE(contains(m.err, "lab47")) << m.err;
}

// Beyond one controller: Ansible runs sonde once per inventory group (the
// playbook shipped in deploy/ansible) and sonde merges the groups' per-host
// lines into one view.
TEST_F(FleetLab, AnsibleRunsSondePerGroupAndMergeJoinsThem) {
  if (::access("/usr/bin/ansible-playbook", X_OK) != 0)
    GTEST_SKIP() << "ansible-playbook not installed (apt-get install ansible-core)";
  const std::string inv = dir_ + "/inventory.ini", out = dir_ + "/per-group";
  {
    std::ofstream f(inv);
    f << "[web]\nlab[01:03]\n\n[db]\nlab04\nlab47\n";
  }
  auto e = env();
  e["LC_ALL"] = "C.UTF-8";
  e["ANSIBLE_NOCOLOR"] = "1";
  e["ANSIBLE_LOCALHOST_WARNING"] = "0";
  e["ANSIBLE_PYTHON_INTERPRETER"] = "auto_silent";
  ::sonde::testing::Run r = run_cmd(
      {"ansible-playbook", "-i", inv, SONDE_SOURCE_DIR "/deploy/ansible/sonde-per-group.yml", "-e",
       "sonde=" + std::string(SONDE_BIN_DIR) + "/sonde", "-e",
       "sonde_command=ps --name sshd --interval 0", "-e", "sonde_out=" + out},
      e, 180000);
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  EXPECT_TRUE(fs::exists(out + "/web/hosts.jsonl")) << r.out;
  EXPECT_TRUE(fs::exists(out + "/db/hosts.jsonl")) << r.out;
  // The merged view names every host of both groups, and the one that is down.
  for (int k = 1; k <= 4; ++k) EXPECT_TRUE(contains(r.out, host(k) + " ")) << r.out;
  EXPECT_TRUE(contains(r.out, "4 of 5 hosts ok")) << r.out;
  EXPECT_TRUE(contains(r.out, "lab47")) << r.out;
  // The same merge, run by hand over the directories the playbook left.
  ::sonde::testing::Run m = sonde({"merge", out + "/web", out + "/db"});
  EXPECT_EQ(m.exit_code, 7) << describe(m);
  EXPECT_TRUE(contains(m.err, "4 of 5 hosts ok")) << m.err;
}

// A fleet run is one case journal entry with every host, and the report
// shows the merged table it printed.
TEST_F(FleetLab, CaseRecordsAFleetRunAsOneEntryAndTheReportShowsItsTable) {
  auto e = env();
  e["SONDE_HOME"] = dir_ + "/sonde-home";
  auto run = [&](std::vector<std::string> args) { return run_sonde(args, e, kRunTimeoutMs); };
  ASSERT_EQ(run({"case", "new", "fleet-case"}).exit_code, 0);
  ::sonde::testing::Run r =
      run({"ps", "lab[01-03],lab46,lab47", "--name", "sshd", "--interval", "0"});
  ASSERT_EQ(r.exit_code, 7) << describe(r);
  std::ifstream lines(dir_ + "/sonde-home/cases/fleet-case/journal.jsonl");
  std::string line;
  json entry;
  int commands = 0;
  while (std::getline(lines, line)) {
    json j = parse_json(line);
    if (j.value("kind", "") != "command") continue;
    ++commands;
    entry = j;
  }
  ASSERT_EQ(commands, 1) << "one entry for the whole run";
  ASSERT_TRUE(entry["fleet"].is_array()) << entry.dump();
  EXPECT_EQ(entry["fleet"].size(), 5u);
  EXPECT_EQ(entry["summary"], "4 of 5 hosts ok, 1 failed");
  EXPECT_TRUE(contains(entry["merged"].get<std::string>(), "lab02 ")) << entry.dump();
  bool saw_down = false;
  for (const auto& h : entry["fleet"]) {
    if (h["host"] == "lab47") {
      saw_down = h["failure"] == "unreachable" && h["ok"] == false;
      EXPECT_FALSE(h.contains("clock_offset_ns")) << "never reached: " << h.dump();
      continue;
    }
    // Every host reached has its clock in the entry; the one behind a
    // 100 ms relay each way has a bound of 100 ms or more.
    ASSERT_TRUE(h.contains("clock_offset_ns")) << h.dump();
    int64_t bound = h["clock_bound_ns"].get<int64_t>();
    EXPECT_LE(std::llabs(h["clock_offset_ns"].get<int64_t>()), bound + 5'000'000) << h.dump();
    if (h["host"] == host(kDelayed))
      EXPECT_GE(bound, 100'000'000) << h.dump();
    else
      EXPECT_LT(bound, 50'000'000) << h.dump();
  }
  EXPECT_TRUE(saw_down) << entry.dump();

  ::sonde::testing::Run rep = run({"report", "fleet-case"});
  ASSERT_EQ(rep.exit_code, 0) << describe(rep);
  EXPECT_TRUE(contains(rep.out, "4 of 5 hosts ok")) << rep.out;
  EXPECT_TRUE(contains(rep.out, "clocks of 4 hosts")) << rep.out;
  EXPECT_TRUE(contains(rep.out, "unreachable: lab47")) << rep.out;
  EXPECT_TRUE(contains(rep.out, "HOST")) << "the merged table: " << rep.out;
}

TEST_F(FleetLab, InteractiveCommandsRefuseAFleet) {
  ::sonde::testing::Run r = sonde({"forward", "lab[01-02]", "8080"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(contains(r.err, "one host at a time")) << r.err;
}

}  // namespace
}  // namespace sonde::testing
