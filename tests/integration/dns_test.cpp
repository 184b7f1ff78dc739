// sonde dns end to end against a real dnsmasq on loopback (198.18.0.0/15
// test addresses only), a UDP port that never answers and one nobody holds.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "sonde/common/ports.h"
#include "sonde/common/subprocess.h"
#include "sonde/net/dns.h"
#include "support/contains.h"
#include "support/netlab.h"
#include "support/sshd_fixture.h"

namespace sonde::testing {
namespace {

class Dnsmasq {
 public:
  Dnsmasq() {
    if (!have_program("dnsmasq")) return;
    port_ = free_loopback_port();
    if (port_ == 0) return;
    SpawnOptions o;
    o.pipe_stdin = false;
    o.pipe_stdout = false;
    o.new_process_group = true;
    std::vector<std::string> argv = {
        have_program("/usr/sbin/dnsmasq") ? "/usr/sbin/dnsmasq" : "dnsmasq",
        "--no-daemon",
        "--port=" + std::to_string(port_),
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--pid-file=",
        "--local-ttl=300",
        "--address=/sonde-test.example/198.18.0.5",
        "--address=/nx.sonde-test.example/",
        "--mx-host=mx.sonde-test.example,mail.sonde-test.example,10",
        "--txt-record=txt.sonde-test.example,sonde says hi",
        "--srv-host=_sip._tcp.sonde-test.example,sip.sonde-test.example,5060,1,2"};
    if (is_root()) argv.push_back("--user=root");  // no drop to `nobody` needed
    auto c = spawn(argv, o);
    if (!c.ok()) return;
    child_ = std::move(*c);
    // Ready when it answers (bounded: 5 s).
    for (int i = 0; i < 50; ++i) {
      auto a =
          net::dns_query_server(server(), "sonde-test.example", net::dnstype::kA, 100, nullptr);
      if (a.rcode == "NOERROR") {
        ready_ = true;
        return;
      }
      ::usleep(100000);
    }
  }
  ~Dnsmasq() {
    if (!child_.exited()) {
      child_.kill(SIGTERM);
      if (!child_.wait(3000)) {
        child_.kill(SIGKILL);
        (void)child_.wait(3000);
      }
    }
  }
  bool ready() const { return ready_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  Child child_;
  bool ready_ = false;
};

class Dns : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dns_ = new Dnsmasq(); }
  static void TearDownTestSuite() {
    delete dns_;
    dns_ = nullptr;
  }
  void SetUp() override {
    if (!dns_->ready())
      GTEST_SKIP() << "dnsmasq is not installed or did not start (apt-get install dnsmasq)";
    // An empty resolv.conf: only the servers the test names are asked.
    // One file per test process: ctest runs the tests of this suite in
    // parallel, and a shared file could be read while another truncates it.
    conf_ = ::testing::TempDir() + "sonde-dns-resolv-" + std::to_string(::getpid()) + ".conf";
    std::ofstream(conf_) << "search sonde-test.example\noptions timeout:1\n";
  }
  void TearDown() override {
    if (!conf_.empty()) ::unlink(conf_.c_str());
  }
  sonde::testing::Run dns(std::vector<std::string> args) {
    args.insert(args.begin(), "dns");
    args.push_back("--resolv-conf");
    args.push_back(conf_);
    return run_sonde(args, {}, 30000);
  }
  static json parse(const std::string& s) { return json::parse(s, nullptr, false); }
  static Dnsmasq* dns_;
  std::string conf_;
};
Dnsmasq* Dns::dns_ = nullptr;

TEST_F(Dns, AnswerWithTtl) {
  auto r = dns({"sonde-test.example", "--nameserver", dns_->server(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  const auto& ns = j["sides"][0]["result"]["nameservers"][0];
  EXPECT_EQ(ns["rcode"], "NOERROR");
  ASSERT_EQ(ns["answers"].size(), 1u) << ns.dump();
  EXPECT_EQ(ns["answers"][0]["data"], "198.18.0.5");
  EXPECT_EQ(ns["answers"][0]["type"], "A");
  EXPECT_EQ(ns["answers"][0]["ttl"], 300);
  EXPECT_EQ(j["sides"][0]["result"]["search"][0], "sonde-test.example");
}

TEST_F(Dns, NxdomainInText) {
  auto r = dns({"nx.sonde-test.example", "--nameserver", dns_->server()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "NXDOMAIN")) << r.out;
}

TEST_F(Dns, MxTxtSrv) {
  auto mx = dns({"mx.sonde-test.example", "--type", "MX", "--nameserver", dns_->server()});
  EXPECT_TRUE(contains(mx.out, "10 mail.sonde-test.example.")) << describe(mx) << mx.out;
  auto txt = dns({"txt.sonde-test.example", "--type", "txt", "--nameserver", dns_->server()});
  EXPECT_TRUE(contains(txt.out, "\"sonde says hi\"")) << describe(txt) << txt.out;
  auto srv = dns({"_sip._tcp.sonde-test.example", "--type", "SRV", "--nameserver", dns_->server()});
  EXPECT_TRUE(contains(srv.out, "1 2 5060 sip.sonde-test.example.")) << describe(srv) << srv.out;
}

TEST_F(Dns, SilentServerTimesOutWithinBound) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::string silent = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto r = dns({"sonde-test.example", "--nameserver", dns_->server(), "--nameserver", silent,
                "--timeout", "300ms", "--json"});
  ::close(fd);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto j = parse(r.out);
  const auto& ns = j["sides"][0]["result"]["nameservers"][1];
  EXPECT_TRUE(contains(ns["error"].get<std::string>(), "no answer within 300 ms")) << ns.dump();
  EXPECT_LT(ns["ms"].get<long>(), 2000);
  std::string diffs = j["differences"].dump();
  EXPECT_TRUE(contains(diffs, "nameserver 2 (" + silent + ") does not answer")) << diffs;
}

TEST_F(Dns, RefusedPortAndBadArgs) {
  int port = free_loopback_port();
  auto r = dns({"sonde-test.example", "--nameserver", "127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "error:")) << r.out;
  auto bad = dns({"sonde-test.example", "--type", "BOGUS"});
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_TRUE(contains(bad.err, "hint")) << bad.err;
}

TEST_F(Dns, TwoSidesAgreeAndUnreachableSideFails) {
  auto r = dns({"sonde-test.example", "--nameserver", dns_->server(), "--from", "local"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "differences: none")) << r.out;
  auto f =
      dns({"sonde-test.example", "--nameserver", dns_->server(), "--from",
           "nobody@127.0.0.1:" + std::to_string(free_loopback_port()), "--connect-timeout", "2s"});
  EXPECT_EQ(f.exit_code, 1) << describe(f);
  EXPECT_TRUE(contains(f.err, "hint:")) << f.err;
  EXPECT_TRUE(contains(f.out, "198.18.0.5")) << f.out;  // the local side still answered
}

TEST_F(Dns, ReverseLookupOfAddress) {
  auto r = dns({"198.18.0.5", "--nameserver", dns_->server(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto j = parse(r.out);
  EXPECT_EQ(j["sides"][0]["result"]["query"]["type"], "PTR");
  EXPECT_EQ(j["sides"][0]["result"]["query"]["name"], "5.0.18.198.in-addr.arpa");
}

// Two sides that disagree: a --via side whose agent runs in a mount namespace
// with its own /etc/hosts (198.18.0.7) against this side's nameserver answer.
TEST_F(Dns, HostsDifferenceBetweenSides) {
  if (run_cmd({"unshare", "-rm", "true"}, {}, 10000).exit_code != 0)
    GTEST_SKIP() << "no user+mount namespaces here (unshare -rm)";
  std::string hosts = ::testing::TempDir() + "sonde-dns-hosts";
  std::ofstream(hosts) << "198.18.0.7 sonde-test.example\n";
  std::string agent = std::string(SONDE_BIN_DIR) + "/sonde-agent";
  std::string via =
      "unshare -rm sh -c 'mount --bind " + hosts + " /etc/hosts && exec " + agent + " serve'";
  auto r = dns({"--via", via, "sonde-test.example", "--nameserver", dns_->server()});
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  EXPECT_TRUE(contains(r.out, "== via")) << r.out;
  EXPECT_TRUE(
      contains(r.out, "via: the system resolver returns 198.18.0.7 that no nameserver gave"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "via resolves 198.18.0.7")) << r.out;
}

// Hosts built from network namespaces: a dnsmasq host with known records, a
// client whose /etc/hosts (through /etc/netns) disagrees with it, and a
// second side (web1) that asks the same nameserver through resolv.conf.
TEST(DnsLab, HostsFileThatDisagreesWithTheNameserver) {
  std::string why;
  auto lab = NetLab::create(&why);
  if (!lab) {
    if (why.empty()) FAIL() << "the lab could not be built";
    GTEST_SKIP() << why;
  }
  if (!have_program("dnsmasq")) GTEST_SKIP() << "dnsmasq not installed: apt-get install dnsmasq";
  auto ns = lab->add_host("ns");
  auto client = lab->add_host("client");
  auto web1 = lab->add_host("web1");
  ASSERT_FALSE(web1.ns.empty());
  ASSERT_GT(
      lab->spawn(ns,
                 {have_program("/usr/sbin/dnsmasq") ? "/usr/sbin/dnsmasq" : "dnsmasq",
                  "--no-daemon", "--port=53", "--listen-address=" + ns.addr, "--bind-interfaces",
                  "--no-resolv", "--no-hosts", "--pid-file=", "--user=root",
                  "--host-record=db.lab.test,198.18.0.5", "--mx-host=lab.test,mail.lab.test,10"},
                 lab->dir() + "/dnsmasq.log"),
      0);
  ASSERT_TRUE(lab->wait_listen(ns, 53, 10000, true));
  for (const auto* h : {&client, &web1})
    ASSERT_TRUE(lab->etc_file(*h, "resolv.conf", "nameserver " + ns.addr + "\n"));
  ASSERT_TRUE(lab->etc_file(client, "hosts", "127.0.0.1 localhost\n198.18.0.7 db.lab.test\n"));

  auto r = lab->sonde(client, {"dns", "db.lab.test", "--via", lab->via_agent(web1)}, {}, 60000);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  // Each side asked the lab's nameserver, which answers with its record and TTL.
  EXPECT_TRUE(contains(r.out, "nameserver 1 " + ns.addr + ": NOERROR")) << r.out;
  EXPECT_TRUE(contains(r.out, "198.18.0.5")) << r.out;
  // The client's /etc/hosts wins over DNS on the client only.
  EXPECT_TRUE(
      contains(r.out, "local: the system resolver returns 198.18.0.7 that no nameserver gave"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "via resolves 198.18.0.5")) << r.out;
  auto mx = lab->sonde(web1, {"--json", "dns", "lab.test", "--type", "MX"}, {}, 60000);
  EXPECT_EQ(mx.exit_code, 0) << describe(mx);
  EXPECT_TRUE(contains(mx.out, "10 mail.lab.test.")) << mx.out;
}

}  // namespace
}  // namespace sonde::testing
