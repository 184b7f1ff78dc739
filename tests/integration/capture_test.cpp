// sonde capture end to end, with tshark as the oracle: the agent captures in a
// lab host (network namespaces, support/netlab.h) while another host makes
// known TCP connections and DNS queries; the pcap file must read in tshark
// with the packets, flows and bytes the summary reports. Also: -w - into a
// pipe (and the reader leaving), a bad filter, no capture rights, Ctrl-C
// mid-capture, and an SSH target whose own session stays out of the file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "sonde/common/frame.h"
#include "support/contains.h"
#include "support/netlab.h"
#include "support/sshd_fixture.h"

namespace sonde::testing {
namespace {

const std::string kSonde = std::string(SONDE_BIN_DIR) + "/sonde";
const std::string kAgent = std::string(SONDE_BIN_DIR) + "/sonde-agent";

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool exists(const std::string& path) {
  struct stat sb;
  return ::stat(path.c_str(), &sb) == 0;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The JSON document sonde printed: from a line "{" to the line "}".
json json_from(const std::string& text) {
  size_t b = text.rfind("\n{\n");
  b = text.rfind("{\n", 0) == 0 ? 0 : (b == std::string::npos ? b : b + 1);
  if (b == std::string::npos) return nullptr;
  size_t e = text.find("\n}", b);
  if (e == std::string::npos) return nullptr;
  return json::parse(text.substr(b, e + 2 - b), nullptr, false);
}

#define REQUIRE_LAB(lab)                                                             \
  std::string why_not;                                                               \
  auto lab = NetLab::create(&why_not);                                               \
  if (!lab) {                                                                        \
    if (::testing::Test::HasFailure()) return;                                       \
    GTEST_SKIP() << why_not;                                                         \
  }                                                                                  \
  if (!have_program("tshark")) GTEST_SKIP() << "no tshark (apt-get install tshark)"; \
  if (!have_program("python3")) GTEST_SKIP() << "no python3"

// A sonde running in the background in a lab host, stdout and stderr to
// files; it is the spawned pid itself (`ip netns exec` and `sh -c exec` both
// exec), so SIGINT reaches sonde as a Ctrl-C would.
struct Background {
  pid_t pid = -1;
  std::string out, err;
  std::optional<int> status;

  // Waits for sonde's "capturing on" line (the agent has the interface open).
  bool wait_started(int timeout_ms = 60000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
      if (contains(slurp(err), "capturing on")) return true;
      if (exited(0)) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  bool exited(int timeout_ms) {
    if (status) return true;
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    do {
      int st = 0;
      pid_t r = ::waitpid(pid, &st, WNOHANG);
      if (r == pid) {
        status = st;
        return true;
      }
      if (r < 0) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < end);
    return false;
  }
  int exit_code() const { return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1; }
  std::string describe() const {
    return "exit " + std::to_string(exit_code()) + "\nstderr:\n" + slurp(err) + "\nstdout:\n" +
           slurp(out);
  }
};

Background start_sonde(NetLab& lab, const NetLab::Host& h, const std::vector<std::string>& args,
                       const std::string& tag) {
  Background b;
  b.out = lab.dir() + "/" + tag + ".out";
  b.err = lab.dir() + "/" + tag + ".err";
  std::string cmd = "exec " + shell_quote(kSonde);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + shell_quote(b.out) + " 2>" + shell_quote(b.err);
  b.pid = lab.spawn(h, {"sh", "-c", cmd});
  return b;
}

// tshark's view of a pcap file: packets, and per TCP stream frames, frame
// bytes and TCP payload bytes sent by the side that is not `server_port`.
struct TsharkFlow {
  uint64_t frames_c = 0, frames_s = 0, bytes_c = 0, bytes_s = 0, payload_c = 0, payload_s = 0;
};
struct TsharkView {
  bool ok = false;
  std::string error;
  uint64_t packets = 0;
  std::map<std::string, TsharkFlow> tcp;  // by "clientip:port"
  size_t conv_rows = 0;                   // rows of -z conv,tcp
};

TsharkView tshark_view(const std::string& file, int server_port) {
  TsharkView v;
  Run all = run_cmd({"tshark", "-n", "-r", file, "-T", "fields", "-e", "frame.number"}, {}, 60000);
  if (all.exit_code != 0) {
    v.error = "tshark -r: " + describe(all);
    return v;
  }
  std::istringstream in(all.out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) ++v.packets;
  Run f = run_cmd({"tshark", "-n",          "-r", file,        "-Y", "tcp",         "-T", "fields",
                   "-E",     "separator=,", "-e", "ip.src",    "-e", "tcp.srcport", "-e", "ip.dst",
                   "-e",     "tcp.dstport", "-e", "frame.len", "-e", "tcp.len"},
                  {}, 60000);
  if (f.exit_code != 0) {
    v.error = "tshark fields: " + describe(f);
    return v;
  }
  std::istringstream fin(f.out);
  while (std::getline(fin, line)) {
    std::vector<std::string> c;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) c.push_back(cell);
    if (c.size() < 6) continue;
    bool from_server = std::stoi(c[1]) == server_port;
    std::string client = from_server ? c[2] + ":" + c[3] : c[0] + ":" + c[1];
    TsharkFlow& t = v.tcp[client];
    (from_server ? t.frames_s : t.frames_c) += 1;
    (from_server ? t.bytes_s : t.bytes_c) += std::stoull(c[4]);
    (from_server ? t.payload_s : t.payload_c) += std::stoull(c[5]);
  }
  Run conv = run_cmd({"tshark", "-n", "-r", file, "-q", "-z", "conv,tcp"}, {}, 60000);
  std::istringstream cin(conv.out);
  while (std::getline(cin, line))
    if (contains(line, "<->")) ++v.conv_rows;
  v.ok = true;
  return v;
}

// Sends a 100-byte UDP datagram to 198.18.0.2:9 every `gap` seconds (the lab
// hosts have no ping).
std::vector<std::string> udp_sender(const char* gap) {
  return {"python3", "-c",
          std::string("import socket, time\n"
                      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                      "while True:\n"
                      "    s.sendto(b'x' * 100, ('198.18.0.2', 9))\n"
                      "    time.sleep(") +
              gap + ")\n"};
}

const char* kTcpServer = R"(
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 8080))
s.listen(16)
while True:
    c, _ = s.accept()
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        n += len(d)
    c.sendall(b'y' * (2 * n))
    c.close()
)";

// Three connections sending 1000, 20000, 300000 bytes; the server answers
// twice as much. Prints "<local port> <bytes received>" per connection.
const char* kTcpClient = R"(
import socket
for n in (1000, 20000, 300000):
    c = socket.create_connection(('198.18.0.2', 8080), timeout=20)
    c.sendall(b'x' * n)
    c.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        got += len(d)
    print(c.getsockname()[1], got)
    c.close()
)";

TEST(Capture, TcpFlowsMatchTshark) {
  REQUIRE_LAB(lab);
  auto srv = lab->add_host("srv");
  auto cli = lab->add_host("cli");
  ASSERT_FALSE(srv.ns.empty() || cli.ns.empty());
  ASSERT_GT(lab->spawn(srv, {"python3", "-c", kTcpServer}, lab->dir() + "/server.log"), 0);
  ASSERT_TRUE(lab->wait_listen(srv, 8080)) << slurp(lab->dir() + "/server.log");
  std::string file = lab->dir() + "/tcp.pcap";
  auto cap = start_sonde(*lab, srv,
                         {"--json", "capture", "local", "--interface", "eth0", "--duration", "120s",
                          "-w", file, "--flows", "50", "tcp", "port", "8080"},
                         "tcp");
  ASSERT_TRUE(cap.wait_started()) << cap.describe();
  auto client = lab->exec(cli, {"python3", "-c", kTcpClient}, {}, 60000);
  ASSERT_EQ(client.exit_code, 0) << describe(client);
  // The client has its answers and has closed: the last ACKs are on the
  // wire. Ctrl-C ends the capture once it has written them all, i.e. when
  // the file stopped growing for 500 ms (a slow agent, under ASan on a
  // loaded CI, was still behind 300 ms after the client was done); the file
  // and the summary still come.
  {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    off_t last = -1;
    auto still_since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < end) {
      struct stat sb;
      off_t now_size = ::stat((file + ".part").c_str(), &sb) == 0 ? sb.st_size : -1;
      if (now_size != last) {
        last = now_size;
        still_since = std::chrono::steady_clock::now();
      } else if (last > 0 &&
                 std::chrono::steady_clock::now() - still_since > std::chrono::milliseconds(500)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ::kill(cap.pid, SIGINT);
  ASSERT_TRUE(cap.exited(60000)) << cap.describe();
  // Ctrl-C is 130 in every command, after the file and the summary.
  ASSERT_EQ(cap.exit_code(), 130) << cap.describe();
  EXPECT_FALSE(exists(file + ".part"));

  json r = json_from(slurp(cap.out));
  ASSERT_TRUE(r.is_object()) << cap.describe();
  EXPECT_EQ(r["stopped_by"], "cancel");
  EXPECT_EQ(r["interface"], "eth0");
  EXPECT_EQ(r["linktype_name"], "EN10MB");
  EXPECT_TRUE(contains(r.value("summary", ""), "3 TCP flows")) << r["summary"];
  const json& t = r["traffic"];
  ASSERT_EQ(t["tcp_flows_total"], 3) << t.dump(2);

  TsharkView tv = tshark_view(file, 8080);
  ASSERT_TRUE(tv.ok) << tv.error;
  EXPECT_EQ(tv.packets, r["stats"]["captured"].get<uint64_t>());
  EXPECT_EQ(tv.packets, t["packets"].get<uint64_t>());
  EXPECT_EQ(tv.conv_rows, 3u);
  ASSERT_EQ(tv.tcp.size(), 3u);

  // The client's lines: "<port> <received>".
  std::map<std::string, uint64_t> sent_by_port;
  {
    std::istringstream in(client.out);
    std::string port;
    uint64_t got;
    uint64_t sizes[] = {1000, 20000, 300000};
    int i = 0;
    while (in >> port >> got && i < 3) {
      EXPECT_EQ(got, 2 * sizes[i]);
      sent_by_port[port] = sizes[i++];
    }
    ASSERT_EQ(sent_by_port.size(), 3u) << client.out;
  }
  for (const auto& f : t["tcp_flows"]) {
    std::string client_ep = f["client"];
    ASSERT_TRUE(tv.tcp.count(client_ep)) << client_ep;
    const TsharkFlow& o = tv.tcp[client_ep];
    EXPECT_EQ(f["server"], "198.18.0.2:8080");
    EXPECT_TRUE(f["initiator_known"].get<bool>());
    EXPECT_EQ(f["packets"]["client"].get<uint64_t>(), o.frames_c) << client_ep;
    EXPECT_EQ(f["packets"]["server"].get<uint64_t>(), o.frames_s) << client_ep;
    EXPECT_EQ(f["bytes"]["client"].get<uint64_t>(), o.bytes_c) << client_ep;
    EXPECT_EQ(f["bytes"]["server"].get<uint64_t>(), o.bytes_s) << client_ep;
    EXPECT_EQ(f["payload"]["client"].get<uint64_t>(), o.payload_c) << client_ep;
    EXPECT_EQ(f["payload"]["server"].get<uint64_t>(), o.payload_s) << client_ep;
    // What the programs sent, when nothing was retransmitted.
    std::string port = client_ep.substr(client_ep.rfind(':') + 1);
    ASSERT_TRUE(sent_by_port.count(port)) << port;
    if (f["retransmissions"]["client"] == 0 && f["retransmissions"]["server"] == 0) {
      EXPECT_EQ(f["payload"]["client"].get<uint64_t>(), sent_by_port[port]);
      EXPECT_EQ(f["payload"]["server"].get<uint64_t>(), 2 * sent_by_port[port]);
    }
    EXPECT_EQ(f["state"], "closed") << f.dump();
    EXPECT_EQ(f["fins"]["client"], 1);
    EXPECT_EQ(f["fins"]["server"], 1);
    EXPECT_TRUE(f["handshake"]["rtt_ms"].is_number()) << f.dump();
  }
}

TEST(Capture, DnsOnAnyInterfaceStopsAtCount) {
  REQUIRE_LAB(lab);
  if (!have_program("dnsmasq")) GTEST_SKIP() << "no dnsmasq";
  auto srv = lab->add_host("srv");
  auto cli = lab->add_host("cli");
  ASSERT_FALSE(srv.ns.empty() || cli.ns.empty());
  ASSERT_GT(lab->spawn(
                srv,
                {have_program("/usr/sbin/dnsmasq") ? "/usr/sbin/dnsmasq" : "dnsmasq", "--no-daemon",
                 "--port=53", "--listen-address=198.18.0.2", "--bind-interfaces", "--no-resolv",
                 "--no-hosts", "--pid-file=", "--user=root", "--address=/app.lab.test/198.18.0.7"},
                lab->dir() + "/dnsmasq.log"),
            0);
  ASSERT_TRUE(lab->wait_listen(srv, 53, 10000, true)) << slurp(lab->dir() + "/dnsmasq.log");
  std::string file = lab->dir() + "/dns.pcap";
  auto cap = start_sonde(*lab, srv,
                         {"--json", "capture", "local", "-c", "2", "--duration", "120s", "-w", file,
                          "udp", "port", "53"},
                         "dns");
  ASSERT_TRUE(cap.wait_started()) << cap.describe();
  auto q = lab->exec(cli, {"python3", "-c", R"(
import socket, struct
q = struct.pack('>HHHHHH', 0x4242, 0x0100, 1, 0, 0, 0)
q += b''.join(bytes([len(l)]) + l.encode() for l in 'app.lab.test'.split('.')) + b'\0'
q += struct.pack('>HH', 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(q, ('198.18.0.2', 53))
print(len(s.recv(512)))
)"},
                     {}, 30000);
  ASSERT_EQ(q.exit_code, 0) << describe(q);
  ASSERT_TRUE(cap.exited(60000)) << cap.describe();  // -c 2 ends it
  ASSERT_EQ(cap.exit_code(), 0) << cap.describe();
  json r = json_from(slurp(cap.out));
  ASSERT_TRUE(r.is_object()) << cap.describe();
  EXPECT_EQ(r["stopped_by"], "count");
  EXPECT_EQ(r["interface"], "any");
  EXPECT_EQ(r["linktype_name"], "LINUX_SLL2");
  const json& t = r["traffic"];
  ASSERT_EQ(t["dns_total"], 1) << t.dump(2);
  const json& d = t["dns"][0];
  EXPECT_EQ(d["name"], "app.lab.test.");
  EXPECT_EQ(d["type"], "A");
  EXPECT_EQ(d["id"], 0x4242);
  EXPECT_EQ(d["rcode"], "NOERROR");
  EXPECT_EQ(d["server"], "198.18.0.2:53");
  ASSERT_EQ(d["answers"].size(), 1u);
  EXPECT_EQ(d["answers"][0], "A 198.18.0.7");
  EXPECT_EQ(t["udp_flows_total"], 1);

  auto names = run_cmd(
      {"tshark", "-n", "-r", file, "-T", "fields", "-e", "dns.qry.name", "-e", "dns.a"}, {}, 60000);
  ASSERT_EQ(names.exit_code, 0) << describe(names);
  EXPECT_TRUE(contains(names.out, "app.lab.test")) << names.out;
  EXPECT_TRUE(contains(names.out, "198.18.0.7")) << names.out;
  TsharkView tv = tshark_view(file, 53);
  ASSERT_TRUE(tv.ok) << tv.error;
  EXPECT_EQ(tv.packets, 2u);
}

TEST(Capture, PipeIntoTsharkAndTheReaderLeaving) {
  REQUIRE_LAB(lab);
  auto srv = lab->add_host("srv");
  auto cli = lab->add_host("cli");
  ASSERT_FALSE(srv.ns.empty() || cli.ns.empty());
  ASSERT_GT(lab->spawn(cli, udp_sender("0.2")), 0);
  // -w - into `tshark -r -`: four UDP packets, read from the pipe.
  std::string cmd =
      shell_quote(kSonde) +
      " capture local --interface eth0 -c 4 -w - udp port 9 | tshark -n -r - -T fields "
      "-e frame.number -e udp.length";
  auto r = lab->exec(srv, {"sh", "-c", cmd}, {}, 90000);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::istringstream in(r.out);
  std::string line;
  int n = 0;
  while (std::getline(in, line))
    if (!line.empty()) ++n;
  EXPECT_EQ(n, 4) << r.out;
  // The summary went to stderr, not into the pipe.
  EXPECT_TRUE(contains(r.err, "4 packets")) << r.err;

  // No bound with -w -: the capture runs until the reader goes away.
  std::string gone = "set -o pipefail; " + shell_quote(kSonde) +
                     " capture local --interface eth0 -w - udp port 9 | head -c 200 >/dev/null; "
                     "echo \"sonde=${PIPESTATUS[0]}\"";
  auto g = lab->exec(srv, {"bash", "-c", gone}, {}, 90000);
  EXPECT_FALSE(g.timed_out) << describe(g);
  EXPECT_TRUE(contains(g.out, "sonde=0")) << describe(g);
  EXPECT_TRUE(contains(g.err, "stopped by reader")) << g.err;
}

TEST(Capture, CtrlCMidCaptureLeavesAValidPcap) {
  REQUIRE_LAB(lab);
  auto srv = lab->add_host("srv");
  auto cli = lab->add_host("cli");
  ASSERT_FALSE(srv.ns.empty() || cli.ns.empty());
  ASSERT_GT(lab->spawn(cli, udp_sender("0.05")), 0);
  std::string file = lab->dir() + "/int.pcap";
  auto cap = start_sonde(*lab, srv,
                         {"--json", "capture", "local", "--interface", "eth0", "--snaplen", "64",
                          "-w", file, "--duration", "0", "udp", "port", "9"},
                         "int");
  ASSERT_TRUE(cap.wait_started()) << cap.describe();
  // Packets are flowing into the file when the Ctrl-C comes.
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < end) {
    struct stat sb;
    if (::stat((file + ".part").c_str(), &sb) == 0 && sb.st_size > 24 + 16 * 64) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(cap.pid, SIGINT);
  ASSERT_TRUE(cap.exited(60000)) << cap.describe();
  EXPECT_EQ(cap.exit_code(), 130) << cap.describe();
  ASSERT_TRUE(exists(file)) << cap.describe();
  EXPECT_FALSE(exists(file + ".part"));
  json r = json_from(slurp(cap.out));
  ASSERT_TRUE(r.is_object()) << cap.describe();
  EXPECT_EQ(r["stopped_by"], "cancel");
  EXPECT_EQ(r["snaplen"], 64);
  TsharkView tv = tshark_view(file, 0);
  ASSERT_TRUE(tv.ok) << tv.error;
  EXPECT_GE(tv.packets, 16u);
  EXPECT_EQ(tv.packets, r["stats"]["captured"].get<uint64_t>());
  EXPECT_GE(r["traffic"]["udp"].get<uint64_t>(), 16u);
}

TEST(Capture, BadFilterIsAUsageErrorQuotingPcap) {
  if (!is_root()) GTEST_SKIP() << "needs root (capture rights on lo)";
  auto r = run_sonde(
      {"capture", "local", "--interface", "lo", "-c", "1", "tcp", "port", "nosuchservice"}, {},
      60000);
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(contains(r.err, "bad capture filter `tcp port nosuchservice`")) << r.err;
  // pcap's own words.
  EXPECT_TRUE(contains(r.err, "nosuchservice")) << r.err;
  EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
}

TEST(Capture, NoCaptureRightsGivesTheSudoHint) {
  if (!is_root()) GTEST_SKIP() << "needs root (the agent drops to uid 65534 with setpriv)";
  if (!have_program("setpriv")) GTEST_SKIP() << "no setpriv (util-linux)";
  std::string via = "setpriv --reuid 65534 --regid 65534 --clear-groups " + kAgent + " serve";
  auto r = run_sonde({"--via", via, "capture", "--interface", "lo", "-c", "1"}, {}, 60000);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "permission denied")) << r.err;
  EXPECT_TRUE(contains(r.err, "--sudo")) << r.err;
  EXPECT_TRUE(contains(r.err, "CAP_NET_RAW")) << r.err;
}

// As in tcpdump, -i names the interface for capture (the global -i, the SSH
// key, keeps its long name --identity there).
TEST(Capture, DashIIsTheInterface) {
  auto r =
      run_sonde({"capture", "local", "-i", "nosuchif0", "-c", "1", "--duration", "5s"}, {}, 30000);
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "nosuchif0")) << r.err;
  EXPECT_FALSE(contains(r.err, "identity")) << r.err;
  auto h = run_sonde({"help", "capture"});
  EXPECT_TRUE(contains(h.out, "-i [ --interface ]")) << h.out;
  EXPECT_FALSE(contains(h.out, "-i [ --identity ]")) << h.out;
}

TEST(Capture, SshTargetLeavesItsOwnSessionOut) {
  if (!is_root()) GTEST_SKIP() << "needs root (capture on lo through the SSH session's agent)";
  if (!have_program("tshark")) GTEST_SKIP() << "no tshark";
  std::string why;
  std::unique_ptr<Sshd> sshd(Sshd::start(&why));
  if (!sshd) {
    if (::testing::Test::HasFailure()) return;
    GTEST_SKIP() << why;
  }
  char tmpl[] = "/tmp/sonde-capture-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  std::string dir = tmpl;
  std::map<std::string, std::string> env = {{"HOME", sshd->home()}};
  // Loopback traffic of our own meanwhile: a UDP sender on a port of its own.
  pid_t sender = ::fork();
  ASSERT_GE(sender, 0);
  if (sender == 0) {
    ::execlp("python3", "python3", "-c",
             "import socket, time\n"
             "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
             "while True:\n"
             "    s.sendto(b'sonde-capture-test', ('127.0.0.1', 9))\n"
             "    time.sleep(0.05)\n",
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string file = dir + "/ssh.pcap";
  auto r = run_sonde(
      {"--json", "capture", sshd->alias(), "--interface", "lo", "--duration", "3s", "-w", file},
      env, 120000);
  std::string sport = std::to_string(sshd->port());
  auto seen = run_cmd({"tshark", "-n", "-r", file, "-Y", "tcp.port == " + sport, "-T", "fields",
                       "-e", "frame.number"},
                      {}, 60000);
  auto udp = run_cmd(
      {"tshark", "-n", "-r", file, "-Y", "udp.dstport == 9", "-T", "fields", "-e", "frame.number"},
      {}, 60000);
  // With the exclusion turned off, the session's packets are there: the
  // check above can see them.
  std::string file2 = dir + "/ssh-kept.pcap";
  auto r2 = run_sonde({"capture", sshd->alias(), "--interface", "lo", "--duration", "2s",
                       "--no-exclude-ssh", "-w", file2, "tcp", "port", sport},
                      env, 120000);
  auto seen2 =
      run_cmd({"tshark", "-n", "-r", file2, "-T", "fields", "-e", "frame.number"}, {}, 60000);
  // Through sudo, which drops SSH_CONNECTION from the environment: the
  // agent finds it in its ancestors'.
  std::optional<sonde::testing::Run> via_sudo;
  if (have_program("sudo") && run_cmd({"sudo", "-n", "true"}, {}, 10000).exit_code == 0)
    via_sudo = run_sonde({"--json", "--sudo", "capture", sshd->alias(), "--interface", "lo", "-c",
                          "3", "udp", "port", "9"},
                         env, 120000);
  ::kill(sender, SIGKILL);
  ::waitpid(sender, nullptr, 0);

  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json j = json_from(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  ASSERT_TRUE(j["excluded"].is_object()) << j.dump(2);
  EXPECT_TRUE(contains(j["excluded"]["server"].get<std::string>(), ":" + sport)) << j["excluded"];
  EXPECT_TRUE(contains(j["effective_filter"].get<std::string>(), "port " + sport));
  ASSERT_EQ(seen.exit_code, 0) << describe(seen);
  EXPECT_EQ(seen.out, "") << "the SSH session's own packets were captured";
  ASSERT_EQ(udp.exit_code, 0) << describe(udp);
  EXPECT_FALSE(udp.out.empty()) << "the loopback traffic was not captured";
  EXPECT_EQ(r2.exit_code, 0) << describe(r2);
  EXPECT_FALSE(seen2.out.empty()) << "with --no-exclude-ssh the session's packets should be there";
  if (via_sudo) {
    EXPECT_EQ(via_sudo->exit_code, 0) << describe(*via_sudo);
    json js = json_from(via_sudo->out);
    ASSERT_TRUE(js.is_object()) << via_sudo->out;
    EXPECT_TRUE(js["excluded"].is_object()) << js.dump(2);
    EXPECT_EQ(js["stats"]["captured"], 3);
  }
  run_cmd({"rm", "-rf", dir}, {}, 10000);
}

}  // namespace
}  // namespace sonde::testing
