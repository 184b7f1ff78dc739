// sonde connect end to end on hosts built from network namespaces
// (support/netlab.h, 198.18.0.0/24): a server whose nftables input chain
// rejects with tcp reset, rejects with icmp admin-prohibited and drops on
// different ports, real listeners (one that closes after a second, one that
// resets), a second side (--via an agent in another host) that the server
// treats differently, a lab address with no host, an address with no route
// and a name that does not resolve. One test goes through the real sshd
// fixture; argument errors need neither.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "sonde/common/frame.h"
#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"
#include "support/contains.h"
#include "support/netlab.h"
#include "support/sshd_fixture.h"

namespace sonde::testing {
namespace {

json parse(const std::string& s) {
  return json::parse(s, nullptr, false);
}

// A tiny TCP server: accepts, says hello, waits a second, then closes (FIN)
// or resets (SO_LINGER 0), and accepts the next connection.
const char* kHoldServer = R"(import socket, struct, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(16)
while True:
    c, _ = s.accept()
    c.sendall(b"hello from sonde test\n")
    time.sleep(1)
    if mode == "rst":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
)";

// What Python's socket module (the oracle) sees for the same connect.
const char* kOracle = R"(import errno, socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3])).close()
    print("open")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
)";

class Connect : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    lab_ = NetLab::create(&why).release();
    if (!lab_) {
      why_ = why.empty() ? "the network lab could not be built" : why;
      return;
    }
    client_ = lab_->add_host("client");  // 198.18.0.2
    server_ = lab_->add_host("server");  // 198.18.0.3
    other_ = lab_->add_host("other");    // 198.18.0.4
    if (client_.ns.empty() || server_.ns.empty() || other_.ns.empty()) return;
    lab_->etc_file(client_, "hosts", "127.0.0.1 localhost\n" + server_.addr + " web.sonde-test\n");
    lab_->etc_file(other_, "hosts", "127.0.0.1 localhost\n" + server_.addr + " web.sonde-test\n");
    // 81: RST; 82: ICMP admin-prohibited; 83: dropped; 84: a listener that
    // drops the other host; 85: nothing listens, dropped for the other host.
    std::string rules =
        "table ip sonde {\n"
        "  chain input {\n"
        "    type filter hook input priority 0; policy accept;\n"
        "    tcp dport 81 reject with tcp reset\n"
        "    tcp dport 82 reject with icmp type admin-prohibited\n"
        "    tcp dport 83 drop\n"
        "    ip saddr " +
        other_.addr +
        " tcp dport { 84, 85 } drop\n"
        "  }\n"
        "}\n";
    if (!lab_->nft(server_, rules)) return;
    std::string dir = lab_->dir();
    std::ofstream(dir + "/hold.py") << kHoldServer;
    std::ofstream(dir + "/oracle.py") << kOracle;
    lab_->spawn(server_, {"python3", "-m", "http.server", "80", "--bind", "0.0.0.0"});
    lab_->spawn(server_, {"python3", "-m", "http.server", "84", "--bind", "0.0.0.0"});
    lab_->spawn(server_, {"python3", dir + "/hold.py", "fin", "90"});
    lab_->spawn(server_, {"python3", dir + "/hold.py", "rst", "91"});
    ready_ = lab_->wait_listen(server_, 80) && lab_->wait_listen(server_, 84) &&
             lab_->wait_listen(server_, 90) && lab_->wait_listen(server_, 91);
  }
  static void TearDownTestSuite() {
    delete lab_;
    lab_ = nullptr;
  }
  void SetUp() override {
    if (!lab_) GTEST_SKIP() << why_;
    ASSERT_TRUE(ready_) << "the lab's servers did not start";
  }

  // sonde connect inside the client host; --json unless text is asked for.
  static sonde::testing::Run connect(std::vector<std::string> args, bool json_out = true) {
    args.insert(args.begin(), "connect");
    if (json_out) args.push_back("--json");
    return lab_->sonde(client_, args, {}, 60000);
  }
  // The one side's first row.
  static json first_row(const json& j, size_t side = 0) {
    return j["sides"][side]["result"]["attempts"][0];
  }
  static std::string oracle(const std::string& host, int port, double timeout_s) {
    auto r = lab_->exec(client_, {"python3", lab_->dir() + "/oracle.py", host, std::to_string(port),
                                  std::to_string(timeout_s)});
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  static NetLab* lab_;
  static NetLab::Host client_, server_, other_;
  static std::string why_;
  static bool ready_;
};
NetLab* Connect::lab_ = nullptr;
NetLab::Host Connect::client_, Connect::server_, Connect::other_;
std::string Connect::why_;
bool Connect::ready_ = false;

TEST_F(Connect, OpenWithSourceAndRoute) {
  auto r = connect({server_.addr + ":80", "--count", "2", "--interval", "100ms"});
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  auto j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["connected"], true);
  const json& res = j["sides"][0]["result"];
  EXPECT_EQ(res["verdict"], "open");
  ASSERT_EQ(res["attempts"].size(), 2u) << res.dump();
  for (const auto& a : res["attempts"]) {
    EXPECT_EQ(a["verdict"], "open");
    EXPECT_EQ(a["address"], server_.addr);
    EXPECT_EQ(a["evidence"], "syn-ack");
    EXPECT_TRUE(contains(a["source"].get<std::string>(), client_.addr + ":")) << a.dump();
  }
  ASSERT_EQ(res["routes"].size(), 1u);
  EXPECT_EQ(res["routes"][0]["dev"], "eth0");
  EXPECT_EQ(res["routes"][0]["via"], "direct");
  EXPECT_EQ(res["routes"][0]["source"], client_.addr);
  EXPECT_TRUE(contains(res["summary"].get<std::string>(), "open 2/2")) << res["summary"];
  EXPECT_EQ(oracle(server_.addr, 80, 2), "open");
}

TEST_F(Connect, RefusedByReset) {
  auto r = connect({server_.addr + ":81", "--count", "1"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  auto a = first_row(parse(r.out));
  EXPECT_EQ(a["verdict"], "refused") << a.dump();
  EXPECT_EQ(a["evidence"], "rst");
  EXPECT_EQ(a["errno_name"], "ECONNREFUSED");
  EXPECT_EQ(oracle(server_.addr, 81, 2), "ECONNREFUSED");
}

TEST_F(Connect, AdminProhibitedSaysWhichIcmpAndFromWhom) {
  auto r = connect({server_.addr + ":82", "--count", "1"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  auto a = first_row(parse(r.out));
  EXPECT_EQ(a["verdict"], "unreachable") << a.dump();
  EXPECT_EQ(a["evidence"], "icmp");
  EXPECT_EQ(a["icmp"]["type"], 3);
  EXPECT_EQ(a["icmp"]["code"], 13);
  EXPECT_EQ(a["icmp"]["kind"], "admin-prohibited");
  EXPECT_EQ(a["icmp"]["from"], server_.addr);
  EXPECT_EQ(a["icmp"]["from_self"], false);
  EXPECT_TRUE(contains(a["detail"].get<std::string>(),
                       "admin prohibited (icmp type 3 code 13) from " + server_.addr))
      << a.dump();
  // The oracle only sees errno: EHOSTUNREACH, the same for every ICMP kind.
  EXPECT_EQ(oracle(server_.addr, 82, 2), "EHOSTUNREACH");
  auto text = connect({server_.addr + ":82", "--count", "1"}, false);
  EXPECT_TRUE(contains(text.out, "admin prohibited (icmp type 3 code 13) from " + server_.addr))
      << text.out;
}

TEST_F(Connect, DroppedTimesOutWithinBound) {
  long t0 = monotonic_ms();
  auto r = connect({server_.addr + ":83", "--count", "2", "--timeout", "700ms", "--interval", "0"});
  long took = monotonic_ms() - t0;
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  auto j = parse(r.out);
  const json& res = j["sides"][0]["result"];
  ASSERT_EQ(res["attempts"].size(), 2u) << res.dump();
  for (const auto& a : res["attempts"]) {
    EXPECT_EQ(a["verdict"], "timeout");
    EXPECT_EQ(a["evidence"], "no-answer");
    EXPECT_GE(a["ms"].get<double>(), 690);
  }
  EXPECT_EQ(res["options"]["timeout_ms"], 700);
  EXPECT_LT(took, 2 * 2 * 700 + 5000);
  EXPECT_EQ(oracle(server_.addr, 83, 0.7), "timeout");
}

// The server drops the other host on 85 and resets the client (nothing
// listens): "refused from local, dropped from via".
TEST_F(Connect, BothEndsCompared) {
  auto r = lab_->sonde(client_,
                       {"--via", lab_->via_agent(other_), "connect", server_.addr + ":85",
                        "--count", "1", "--timeout", "1s"},
                       {}, 60000);
  EXPECT_EQ(r.exit_code, 1) << describe(r) << r.out;
  EXPECT_TRUE(contains(r.out, "== local")) << r.out;
  EXPECT_TRUE(contains(r.out, "== via")) << r.out;
  EXPECT_TRUE(contains(r.out, "refused (RST) from local, dropped (no answer) from via")) << r.out;
  EXPECT_TRUE(contains(r.out, "a firewall on via's path drops it")) << r.out;

  auto j = lab_->sonde(client_,
                       {"--via", lab_->via_agent(other_), "--json", "connect", server_.addr + ":84",
                        "--count", "1", "--timeout", "1s"},
                       {}, 60000);
  EXPECT_EQ(j.exit_code, 1) << describe(j);
  auto p = parse(j.out);
  ASSERT_TRUE(p.is_object()) << j.out;
  ASSERT_EQ(p["sides"].size(), 2u);
  EXPECT_EQ(p["sides"][0]["side"], "local");
  EXPECT_EQ(p["sides"][0]["result"]["verdict"], "open");
  EXPECT_EQ(p["sides"][1]["side"], "via");
  EXPECT_EQ(p["sides"][1]["result"]["verdict"], "timeout");
  EXPECT_TRUE(contains(first_row(p, 1)["source"].get<std::string>(), other_.addr + ":"))
      << p.dump();
  EXPECT_EQ(p["connected"], false);
  EXPECT_TRUE(contains(p["comparison"].dump(), "open from local, dropped (no answer) from via"))
      << p["comparison"].dump();
}

// No host answers ARP for .99 on the lab's subnet: the client's own kernel
// reports host unreachable (an ICMP error it sends itself, after ~3 s).
TEST_F(Connect, NoHostOnSubnetIsHostUnreachableFromSelf) {
  auto r = connect({"198.18.0.99:80", "--count", "1", "--timeout", "10s"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  auto a = first_row(parse(r.out));
  EXPECT_EQ(a["verdict"], "unreachable") << a.dump();
  EXPECT_EQ(a["icmp"]["kind"], "host-unreachable");
  EXPECT_EQ(a["icmp"]["from"], client_.addr);
  EXPECT_EQ(a["icmp"]["from_self"], true);
  EXPECT_TRUE(contains(a["detail"].get<std::string>(), "no ARP/neighbour answer")) << a.dump();
}

// With a timeout shorter than the kernel's ARP give-up, the attempt times
// out, and the neighbour entry tells a host that is absent from a DROP.
TEST_F(Connect, ShortTimeoutToAbsentHostSaysNoArpAnswer) {
  auto r = connect({"198.18.0.98:80", "--count", "1", "--timeout", "1s"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  auto a = first_row(parse(r.out));
  EXPECT_EQ(a["verdict"], "timeout") << a.dump();
  EXPECT_EQ(a["neighbour"], "198.18.0.98");
  EXPECT_EQ(a["neighbour_state"], "INCOMPLETE");
  EXPECT_TRUE(contains(a["detail"].get<std::string>(), "no ARP/neighbour answer")) << a.dump();
  // A DROP on a host that is there: its neighbour entry answered.
  auto d = connect({server_.addr + ":83", "--count", "1", "--timeout", "500ms"});
  auto b = first_row(parse(d.out));
  EXPECT_EQ(b["verdict"], "timeout");
  EXPECT_NE(b["neighbour_state"], "INCOMPLETE") << b.dump();
  EXPECT_NE(b["neighbour_state"], "FAILED") << b.dump();
}

// IPv6 on the same link (2001:2::/48 is the IPv6 benchmarking range): the
// ICMPv6 error comes through IPV6_RECVERR the same way, and -4/-6 filter
// what a name resolves to.
TEST_F(Connect, Ipv6AdminProhibitedAndFamilies) {
  for (auto [h, a] : {std::pair{client_, "2001:2::2/64"}, std::pair{server_, "2001:2::3/64"}}) {
    auto r = lab_->exec(h, {"ip", "-6", "addr", "replace", a, "dev", "eth0", "nodad"});
    if (r.exit_code != 0) GTEST_SKIP() << "no IPv6 here: " << r.err;
  }
  ASSERT_TRUE(lab_->nft(server_,
                        "table ip6 sonde6 {\n"
                        "  chain input {\n"
                        "    type filter hook input priority 0; policy accept;\n"
                        "    tcp dport 82 reject with icmpv6 type admin-prohibited\n"
                        "  }\n"
                        "}\n"));
  auto r = connect({"[2001:2::3]:82", "--count", "1"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  auto a = first_row(parse(r.out));
  EXPECT_EQ(a["family"], "ipv6");
  EXPECT_EQ(a["verdict"], "unreachable") << a.dump();
  EXPECT_EQ(a["evidence"], "icmp");
  EXPECT_EQ(a["icmp"]["v6"], true);
  EXPECT_EQ(a["icmp"]["type"], 1);
  EXPECT_EQ(a["icmp"]["code"], 1);
  EXPECT_EQ(a["icmp"]["kind"], "admin-prohibited");
  EXPECT_EQ(a["icmp"]["from"], "2001:2::3");
  EXPECT_TRUE(contains(a["source"].get<std::string>(), "[2001:2::2]:")) << a.dump();

  lab_->spawn(server_, {"python3", "-m", "http.server", "8086", "--bind", "::"});
  ASSERT_TRUE(lab_->wait_listen(server_, 8086));
  auto open6 = connect({"[2001:2::3]:8086", "--count", "1"});
  EXPECT_EQ(open6.exit_code, 0) << describe(open6);
  // web.sonde-test has only an IPv4 address in the client's hosts file.
  auto only6 = connect({"web.sonde-test:80", "-6", "--count", "1"});
  EXPECT_EQ(only6.exit_code, 1) << describe(only6);
  EXPECT_EQ(first_row(parse(only6.out))["verdict"], "unresolved");
  auto only4 = connect({"web.sonde-test:80", "-4", "--count", "1"});
  EXPECT_EQ(only4.exit_code, 0) << describe(only4);
}

TEST_F(Connect, OffSubnetHasNoRouteLocally) {
  auto r = connect({"203.0.113.5:80", "--count", "1"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  auto j = parse(r.out);
  auto a = first_row(j);
  EXPECT_EQ(a["verdict"], "no-route") << a.dump();
  EXPECT_EQ(a["evidence"], "local");
  EXPECT_EQ(a["errno_name"], "ENETUNREACH");
  const json& rt = j["sides"][0]["result"]["routes"][0];
  EXPECT_FALSE(rt["error"].get<std::string>().empty()) << rt.dump();
  EXPECT_EQ(oracle("203.0.113.5", 80, 2), "ENETUNREACH");
}

TEST_F(Connect, NamesResolveOrSayWhy) {
  auto r = connect({"web.sonde-test:80", "--count", "1"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  auto a = first_row(parse(r.out));
  EXPECT_EQ(a["verdict"], "open") << a.dump();
  EXPECT_EQ(a["address"], server_.addr);

  auto nx = connect({"no-such-host.invalid:80"});
  EXPECT_EQ(nx.exit_code, 1) << describe(nx);
  auto j = parse(nx.out);
  const json& res = j["sides"][0]["result"];
  EXPECT_EQ(res["verdict"], "unresolved");
  EXPECT_FALSE(res["resolve"]["error"].get<std::string>().empty());
  EXPECT_EQ(res["attempts"].size(), 1u);
  auto text = connect({"no-such-host.invalid:80"}, false);
  EXPECT_TRUE(contains(text.out, "unresolved")) << text.out;
}

TEST_F(Connect, HoldSeesCloseAndReset) {
  auto fin = connect({server_.addr + ":90", "--hold", "8s"});
  EXPECT_EQ(fin.exit_code, 0) << describe(fin);
  auto a = first_row(parse(fin.out));
  ASSERT_TRUE(a["hold"].is_object()) << a.dump();
  EXPECT_EQ(a["hold"]["outcome"], "closed");
  EXPECT_GE(a["hold"]["after_ms"].get<long>(), 500);
  EXPECT_LT(a["hold"]["after_ms"].get<long>(), 7000);
  EXPECT_EQ(a["hold"]["banner"], "hello from sonde test");

  auto rst = connect({server_.addr + ":91", "--hold", "8s"});
  EXPECT_EQ(rst.exit_code, 0) << describe(rst);
  auto b = first_row(parse(rst.out));
  ASSERT_TRUE(b["hold"].is_object()) << b.dump();
  EXPECT_EQ(b["hold"]["outcome"], "reset");
  EXPECT_LT(b["hold"]["after_ms"].get<long>(), 7000);

  auto open = connect({server_.addr + ":80", "--hold", "1s"}, false);
  EXPECT_EQ(open.exit_code, 0) << describe(open);
  EXPECT_TRUE(contains(open.out, "stayed open for 1000 ms")) << open.out;
}

// Needs nothing but the built binaries.
TEST(ConnectArgs, ErrorsAreClearWithAHint) {
  for (std::vector<std::string> args : {std::vector<std::string>{"connect"},
                                        {"connect", "web1"},
                                        {"connect", "web1:99999"},
                                        {"connect", "web1:80", "--timeout", "soon"},
                                        {"connect", "web1:80", "--count", "0"},
                                        {"connect", "web1:80", "--count", "x"},
                                        {"connect", "web1:80", "--hold", "0"},
                                        {"connect", "::1:80"},
                                        {"connect", "web1:80", "-4", "-6"}}) {
    auto r = run_sonde(args, {}, 20000);
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << describe(r);
    EXPECT_TRUE(contains(r.err, "hint")) << args.back() << ": " << r.err;
  }
}

// Ctrl-C during a long --hold: the agent is cancelled, the partial result is
// printed and the exit code is 130.
TEST(ConnectArgs, InterruptCancelsHold) {
  int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(l, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(l, 16), 0);
  ASSERT_EQ(::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len), 0);
  SpawnOptions o;
  o.pipe_stdin = false;
  auto c = spawn({std::string(SONDE_BIN_DIR) + "/sonde", "--json", "connect",
                  "127.0.0.1:" + std::to_string(ntohs(a.sin_port)), "--hold", "60s"},
                 o);
  ASSERT_TRUE(c.ok()) << c.error().describe();
  ::usleep(1500 * 1000);
  long t0 = monotonic_ms();
  c->kill(SIGINT);
  auto st = c->wait(15000);
  ::close(l);
  ASSERT_TRUE(st.has_value()) << "sonde did not end after SIGINT";
  EXPECT_LT(monotonic_ms() - t0, 10000);
  ASSERT_TRUE(WIFEXITED(*st)) << describe_wait_status(*st);
  EXPECT_EQ(WEXITSTATUS(*st), 130);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(c->out().get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  auto j = parse(out);
  ASSERT_TRUE(j.is_object()) << out;
  const json& at = j["sides"][0]["result"]["attempts"][0];
  EXPECT_EQ(at["verdict"], "open") << at.dump();
  EXPECT_EQ(at["hold"]["outcome"], "cancelled") << at.dump();
}

// The SSH path: --from the fixture's sshd (127.0.0.1) to a listener on
// loopback, compared with this machine's side.
TEST(ConnectSsh, FromTargetOverSsh) {
  std::string why;
  std::unique_ptr<Sshd> sshd(Sshd::start(&why));
  if (!sshd) GTEST_SKIP() << why;
  int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(l, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(l, 16), 0);
  ASSERT_EQ(::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::string target = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto r = run_sonde({"--json", "connect", target, "--from", sshd->alias(), "--count", "1",
                      "--remote-dir", sshd->dir() + "/remote"},
                     {{"HOME", sshd->home()}}, 60000);
  ::close(l);
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  auto j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  ASSERT_EQ(j["sides"].size(), 2u) << r.out;
  EXPECT_EQ(j["sides"][1]["side"], sshd->alias());
  EXPECT_EQ(j["sides"][1]["result"]["verdict"], "open");
  EXPECT_EQ(j["sides"][1]["result"]["routes"][0]["dev"], "lo");
  EXPECT_EQ(j["comparison"][0], "every side connects");
}

}  // namespace
}  // namespace sonde::testing
