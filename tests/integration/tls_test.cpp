// sonde tls end to end: the real binary against real `openssl s_server`s on
// loopback with throwaway certificates made by the openssl CLI (a CA and a
// leaf it signs, a self-signed one, an expired one via `openssl ca
// -startdate/-enddate`, one for another name), a plain HTTP server, the real
// sshd's port (not TLS: its banner), a --from side through that sshd, and a
// --via side in its own network namespace where another server holds the
// same address (a different certificate: the interception case).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "sonde/common/frame.h"
#include "sonde/common/ports.h"
#include "sonde/common/subprocess.h"
#include "support/contains.h"
#include "support/netlab.h"
#include "support/sserver.h"
#include "support/sshd_fixture.h"

namespace sonde::testing {
namespace {

json parse(const std::string& s) {
  return json::parse(s, nullptr, false);
}

// Throwaway PKI under dir: ca.pem, leaf (sonde.test, *.sonde.test, 127.0.0.1),
// self (localhost), expired (sonde.test, January 2020), other (other.example).
bool make_pki(const std::string& dir, std::string* err) {
  std::filesystem::create_directories(dir + "/newcerts");
  std::ofstream(dir + "/index.txt").close();
  std::ofstream(dir + "/serial") << "1000\n";
  std::ofstream(dir + "/ca.cnf") << "[ ca ]\ndefault_ca = d\n[ d ]\ndir = " << dir
                                 << "\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/newcerts\n"
                                    "serial = $dir/serial\ndefault_md = sha256\npolicy = p\n"
                                    "copy_extensions = copy\nunique_subject = no\n"
                                    "[ p ]\ncommonName = supplied\norganizationName = optional\n";
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                       "-nodes"};
  auto run = [&](std::vector<std::string> argv) {
    auto r = run_cmd(argv, {}, 30000);
    if (r.exit_code != 0) {
      std::string cmd;
      for (const auto& a : argv) cmd += a + " ";
      *err = cmd + ": " + describe(r);
      return false;
    }
    return true;
  };
  auto req = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin() + 2, ec.begin(), ec.end());
    return run(argv);
  };
  auto sign = [&](const std::string& name, std::vector<std::string> dates) {
    std::vector<std::string> argv = {"openssl",  "ca",
                                     "-batch",   "-notext",
                                     "-config",  dir + "/ca.cnf",
                                     "-cert",    dir + "/ca.pem",
                                     "-keyfile", dir + "/ca.key",
                                     "-in",      dir + "/" + name + ".csr",
                                     "-out",     dir + "/" + name + ".pem"};
    argv.insert(argv.end(), dates.begin(), dates.end());
    return run(argv);
  };
  return req({"openssl", "req", "-x509", "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem",
              "-days", "30", "-subj", "/O=sonde tests/CN=sonde test CA"}) &&
         req({"openssl", "req", "-new", "-keyout", dir + "/leaf.key", "-out", dir + "/leaf.csr",
              "-subj", "/CN=sonde.test", "-addext",
              "subjectAltName=DNS:sonde.test,DNS:*.sonde.test,IP:127.0.0.1"}) &&
         sign("leaf", {"-days", "30"}) &&
         req({"openssl", "req", "-new", "-keyout", dir + "/expired.key", "-out",
              dir + "/expired.csr", "-subj", "/CN=sonde.test", "-addext",
              "subjectAltName=DNS:sonde.test,IP:127.0.0.1"}) &&
         sign("expired", {"-startdate", "20200101000000Z", "-enddate", "20200201000000Z"}) &&
         req({"openssl", "req", "-new", "-keyout", dir + "/other.key", "-out", dir + "/other.csr",
              "-subj", "/CN=other.example", "-addext", "subjectAltName=DNS:other.example"}) &&
         sign("other", {"-days", "30"}) &&
         req({"openssl", "req", "-x509", "-keyout", dir + "/self.key", "-out", dir + "/self.pem",
              "-days", "10", "-subj", "/CN=localhost", "-addext",
              "subjectAltName=DNS:localhost,IP:127.0.0.1"});
}

// A plain HTTP server: answers anything with a 400, as nginx does to TLS.
class HttpServer {
 public:
  HttpServer() {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd_, 8) != 0 ||
        ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{lfd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        char buf[2048];
        pollfd q{fd, POLLIN, 0};
        if (::poll(&q, 1, 3000) > 0) (void)::recv(fd, buf, sizeof buf, 0);
        std::string resp = "HTTP/1.1 400 Bad Request\r\nServer: test\r\nContent-Length: 0\r\n\r\n";
        (void)::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL);
        ::shutdown(fd, SHUT_WR);
        if (::poll(&q, 1, 500) > 0) (void)::recv(fd, buf, sizeof buf, 0);
        ::close(fd);
      }
    });
  }
  ~HttpServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(lfd_);
  }
  int port() const { return port_; }

 private:
  int lfd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Most tests run without sshd: those that need it check sshd_.
class TlsCli : public SshdSuite {
 protected:
  static void SetUpTestSuite() {
    if (!have_program("openssl")) {
      skip_ = "the openssl command is not installed (apt-get install openssl)";
      return;
    }
    dir_ = ::testing::TempDir() + "sonde-tls-it-" + std::to_string(::getpid());
    std::string err;
    if (!make_pki(dir_, &err)) skip_ = "could not make the test certificates: " + err;
    SshdSuite::SetUpTestSuite();
  }
  static void TearDownTestSuite() {
    SshdSuite::TearDownTestSuite();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }
  static sonde::testing::Run tls(std::vector<std::string> args, int timeout_ms = 60000) {
    args.insert(args.begin(), "tls");
    std::map<std::string, std::string> env;
    if (sshd_) env["HOME"] = sshd_->home();
    return run_sonde(args, env, timeout_ms);
  }
  static std::string ca() { return dir_ + "/ca.pem"; }

  static inline std::string dir_, skip_;
};

TEST_F(TlsCli, ValidWithCaFileExitsZero) {
  SServer s(dir_ + "/leaf.pem", dir_ + "/leaf.key", {"-alpn", "http/1.1"});
  ASSERT_GT(s.port(), 0);
  auto r = tls({s.at(), "--sni", "sonde.test", "--ca-file", ca()});
  EXPECT_EQ(r.exit_code, 0) << describe(r) << r.out;
  EXPECT_TRUE(contains(r.out, "== local")) << r.out;
  EXPECT_TRUE(contains(r.out, "TLSv1.3")) << r.out;
  EXPECT_TRUE(contains(r.out, "ALPN http/1.1")) << r.out;
  EXPECT_TRUE(contains(r.out, "DNS:sonde.test, DNS:*.sonde.test, IP:127.0.0.1")) << r.out;
  EXPECT_TRUE(contains(r.out, "verify   OK")) << r.out;
  EXPECT_TRUE(contains(r.out, "anchored at \"O=sonde tests, CN=sonde test CA\"")) << r.out;
  EXPECT_TRUE(contains(r.out, "hostname sonde.test: OK")) << r.out;
  EXPECT_TRUE(contains(r.out, "summary: 127.0.0.1:")) << r.out;
}

TEST_F(TlsCli, JsonHasEveryField) {
  SServer s(dir_ + "/leaf.pem", dir_ + "/leaf.key");
  ASSERT_GT(s.port(), 0);
  auto r = tls({s.at(), "--ca-file", ca(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  auto j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["port"], s.port());
  ASSERT_EQ(j["sides"].size(), 1u);
  EXPECT_EQ(j["sides"][0]["side"], "local");
  const json& res = j["sides"][0]["result"];
  EXPECT_EQ(res["outcome"], "ok");
  EXPECT_EQ(res["tls"], true);
  EXPECT_EQ(res["target"]["host"], "127.0.0.1");
  EXPECT_EQ(res["target"]["sni"], "");
  EXPECT_EQ(res["target"]["alpn_offered"], json({"h2", "http/1.1"}));
  EXPECT_EQ(res["address"], "127.0.0.1");
  EXPECT_EQ(res["handshake"]["version"], "TLSv1.3");
  EXPECT_FALSE(res["handshake"]["cipher"].get<std::string>().empty());
  EXPECT_EQ(res["hostname"]["checked"], "127.0.0.1");
  EXPECT_EQ(res["hostname"]["is_ip"], true);
  EXPECT_EQ(res["verify"]["store"]["kind"], "ca_pem");
  const json& leaf = res["chain"][0];
  EXPECT_EQ(leaf["subject_cn"], "sonde.test");
  EXPECT_EQ(leaf["key_type"], "EC");
  EXPECT_EQ(leaf["signature_algorithm"], "ecdsa-with-SHA256");
  EXPECT_EQ(leaf["serial"], "1000");
  // The oracle: openssl's own fingerprint of the file.
  auto fp =
      run_cmd({"openssl", "x509", "-in", dir_ + "/leaf.pem", "-noout", "-fingerprint", "-sha256"});
  EXPECT_TRUE(contains(fp.out, "=" + leaf["sha256"].get<std::string>())) << fp.out;
  for (const char* k : {"stage", "error", "hint", "failure", "addresses", "attempts", "banner",
                        "ms", "notes", "summary", "host"})
    EXPECT_TRUE(res.contains(k)) << k;
  EXPECT_TRUE(j["differences"].is_array());
}

TEST_F(TlsCli, SelfSignedExitsOneWithTheReason) {
  SServer s(dir_ + "/self.pem", dir_ + "/self.key");
  ASSERT_GT(s.port(), 0);
  auto r = tls({"localhost:" + std::to_string(s.port())});
  EXPECT_EQ(r.exit_code, 1) << describe(r) << r.out;
  EXPECT_TRUE(contains(r.out, "verify   FAILED")) << r.out;
  EXPECT_TRUE(contains(r.out, "depth 0: self-signed certificate")) << r.out;
  EXPECT_TRUE(contains(r.out, "(self-signed)")) << r.out;
  EXPECT_TRUE(contains(r.out, "hostname localhost: OK")) << r.out;
  EXPECT_TRUE(contains(r.out, "hint:")) << r.out;
  auto j = tls({"localhost:" + std::to_string(s.port()), "--json"});
  auto p = parse(j.out);
  ASSERT_TRUE(p.is_object()) << j.out;
  EXPECT_EQ(p["ok"], false);
  EXPECT_EQ(p["sides"][0]["result"]["outcome"], "verify_failed");
  EXPECT_EQ(p["sides"][0]["result"]["verify"]["reason"], "self-signed certificate");
}

TEST_F(TlsCli, ExpiredCertificate) {
  SServer s(dir_ + "/expired.pem", dir_ + "/expired.key");
  ASSERT_GT(s.port(), 0);
  auto r = tls({s.at(), "--sni", "sonde.test", "--ca-file", ca(), "--json"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  auto j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  const json& res = j["sides"][0]["result"];
  EXPECT_EQ(res["verify"]["reason"], "certificate has expired");
  EXPECT_LT(res["chain"][0]["days_left"].get<long>(), -2000);
  EXPECT_EQ(res["chain"][0]["not_after"], "2020-02-01T00:00:00Z");
  EXPECT_EQ(res["hostname"]["ok"], true);
  auto t = tls({s.at(), "--sni", "sonde.test", "--ca-file", ca()});
  EXPECT_TRUE(contains(t.out, "EXPIRED")) << t.out;
  EXPECT_TRUE(contains(t.out, "certificate has expired")) << t.out;
}

TEST_F(TlsCli, HostnameMismatchListsTheNames) {
  SServer s(dir_ + "/other.pem", dir_ + "/other.key");
  ASSERT_GT(s.port(), 0);
  auto r = tls({s.at(), "--sni", "sonde.test", "--ca-file", ca()});
  EXPECT_EQ(r.exit_code, 1) << describe(r) << r.out;
  EXPECT_TRUE(contains(r.out, "verify   OK")) << r.out;
  EXPECT_TRUE(contains(r.out,
                       "hostname sonde.test: MISMATCH: the certificate names "
                       "DNS:other.example"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "does NOT match")) << r.out;
}

TEST_F(TlsCli, PlainHttpIsNotTls) {
  HttpServer h;
  ASSERT_GT(h.port(), 0);
  auto r = tls({"127.0.0.1:" + std::to_string(h.port())});
  EXPECT_EQ(r.exit_code, 1) << describe(r) << r.out;
  EXPECT_TRUE(contains(r.out, "NOT TLS")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"HTTP/1.1 400 Bad Request\"")) << r.out;
  EXPECT_TRUE(contains(r.out, "plain HTTP")) << r.out;
}

TEST_F(TlsCli, RefusedPortExitsOne) {
  int port = free_loopback_port();
  auto r = tls({"127.0.0.1:" + std::to_string(port), "--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 1) << describe(r) << r.out;
  EXPECT_TRUE(contains(r.out, "connection refused")) << r.out;
  EXPECT_TRUE(contains(r.out, "hint:")) << r.out;
}

TEST_F(TlsCli, BadArgumentsExitTwoWithAHint) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<Case> cases = {
      {{}, "sonde tls: error: missing HOST:PORT"},
      {{"127.0.0.1:99999"}, "not a port number"},
      {{"127.0.0.1:https"}, "not a port number"},
      {{"[::1"}, "missing `]`"},
      {{"http://example.com"}, "not a TLS scheme"},
      {{"example.com:443", "--sni", "x", "--no-sni"}, "--no-sni"},
      {{"example.com:443", "--sni", "1.2.3.4"}, "not a DNS name"},
      {{"example.com:443", "--alpn", "h2,,x"}, "--alpn"},
      {{"example.com:443", "--tls-min", "1.4"}, "not a TLS version"},
      {{"example.com:443", "--tls-min", "1.3", "--tls-max", "1.2"}, "above"},
      {{"example.com:443", "--timeout", "0"}, "--timeout"},
      // One spelling for durations everywhere: a plain number is seconds.
      {{"example.com:443", "--timeout", "2000"}, "a plain number is seconds"},
      {{"example.com:443", "--timeout", "soon"}, "not a duration"},
      {{"example.com:443", "--banner-wait", "11s"}, "--banner-wait must be at most"},
      {{"example.com:443", "--ca-file", "/nonexistent/ca.pem"}, "cannot read --ca-file"},
      {{"example.com:443", "--ca-file", "/etc/hostname"}, "no PEM certificate"},
  };
  for (const auto& c : cases) {
    auto r = tls(c.args, 20000);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 2) << describe(r) << " for " << (c.args.empty() ? "" : c.args[0]);
    EXPECT_TRUE(contains(r.err, c.says)) << r.err;
    EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
  }
}

// The sshd's own port: an SSH banner, from here and through the SSH target.
TEST_F(TlsCli, SshPortIsNotTlsFromBothSides) {
  if (!sshd_) GTEST_SKIP() << why_;
  auto r = tls({"127.0.0.1:" + std::to_string(sshd_->port()), "--from", sshd_->alias(), "--json"});
  EXPECT_EQ(r.exit_code, 1) << describe(r) << r.out;
  auto j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  ASSERT_EQ(j["sides"].size(), 2u) << r.out << r.err;
  for (const auto& s : j["sides"]) {
    const json& res = s["result"];
    EXPECT_EQ(res["outcome"], "not_tls") << res.dump();
    EXPECT_EQ(res["banner"]["protocol"], "ssh");
    EXPECT_EQ(res["banner"]["server_first"], true);
    EXPECT_TRUE(contains(res["banner"]["text"].get<std::string>(), "SSH-2.0-OpenSSH"));
    EXPECT_TRUE(contains(res["summary"].get<std::string>(), "is not TLS"));
  }
  EXPECT_EQ(j["sides"][1]["side"], sshd_->alias());
  auto t = tls({"127.0.0.1:" + std::to_string(sshd_->port())});
  EXPECT_TRUE(contains(t.out, "NOT TLS: the server spoke first (ssh): \"SSH-2.0-OpenSSH")) << t.out;
}

TEST_F(TlsCli, FromSshTargetAgrees) {
  if (!sshd_) GTEST_SKIP() << why_;
  SServer s(dir_ + "/leaf.pem", dir_ + "/leaf.key");
  ASSERT_GT(s.port(), 0);
  auto r = tls({s.at(), "--sni", "sonde.test", "--ca-file", ca(), "--from", sshd_->alias()});
  EXPECT_EQ(r.exit_code, 0) << describe(r) << r.out;
  EXPECT_TRUE(contains(r.out, "== local")) << r.out;
  EXPECT_TRUE(contains(r.out, "== " + sshd_->alias())) << r.out;
  EXPECT_TRUE(contains(r.out, "differences: none")) << r.out;
}

TEST_F(TlsCli, UnreachableFromSideFailsButLocalStillShows) {
  SServer s(dir_ + "/leaf.pem", dir_ + "/leaf.key");
  ASSERT_GT(s.port(), 0);
  auto r =
      tls({s.at(), "--ca-file", ca(), "--from",
           "nobody@127.0.0.1:" + std::to_string(free_loopback_port()), "--connect-timeout", "2s"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
  EXPECT_TRUE(contains(r.out, "verify   OK")) << r.out;
}

// Two paths to "the same" address that end at different servers: the --via
// agent runs in its own network namespace where another s_server (a
// self-signed certificate) holds 127.0.0.1:PORT. That is what a
// TLS-intercepting proxy looks like from two ends.
TEST_F(TlsCli, DifferentCertificateOnOnePath) {
  if (run_cmd({"unshare", "-rn", "true"}, {}, 10000).exit_code != 0)
    GTEST_SKIP() << "no user+network namespaces here (unshare -rn)";
  SServer s(dir_ + "/leaf.pem", dir_ + "/leaf.key");
  ASSERT_GT(s.port(), 0);
  std::string agent = std::string(SONDE_BIN_DIR) + "/sonde-agent";
  std::string log = dir_ + "/via-s_server.log";
  std::string via =
      "unshare -rn sh -c 'ip link set lo up && (timeout 60 openssl s_server -accept " + s.at() +
      " -cert " + dir_ + "/self.pem -key " + dir_ + "/self.key -www -naccept 1 </dev/null >" + log +
      " 2>&1 &) && i=0 && while ! grep -q ACCEPT " + log +
      " && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; exec " + agent + " serve'";
  auto r = tls({"--via", via, s.at(), "--sni", "sonde.test", "--ca-file", ca()});
  EXPECT_EQ(r.exit_code, 1) << describe(r) << r.out;
  EXPECT_TRUE(contains(r.out, "== via")) << r.out;
  EXPECT_TRUE(contains(r.out, "different certificates: local sees")) << r.out;
  EXPECT_TRUE(contains(r.out, "a TLS-intercepting proxy on one path?")) << r.out;
  EXPECT_TRUE(contains(r.out, "local verifies the chain, via does not")) << r.out;
}

// Two hosts of a network lab: the server's firewall drops the other host, so
// TLS works from the client (the local side) and the --via side in the other
// host never gets an answer.
TEST_F(TlsCli, LabServerReachableFromOneSideOnly) {
  std::string why;
  auto lab = NetLab::create(&why);
  if (!lab) GTEST_SKIP() << (why.empty() ? "the network lab could not be built" : why);
  auto client = lab->add_host("client");  // 198.18.0.2
  auto server = lab->add_host("server");  // 198.18.0.3
  auto other = lab->add_host("other");    // 198.18.0.4
  ASSERT_FALSE(client.ns.empty() || server.ns.empty() || other.ns.empty());
  ASSERT_TRUE(lab->nft(server,
                       "table ip sonde {\n"
                       "  chain input {\n"
                       "    type filter hook input priority 0; policy accept;\n"
                       "    ip saddr " +
                           other.addr +
                           " tcp dport 8443 drop\n"
                           "  }\n"
                           "}\n"));
  // -www: s_server answers without reading its stdin (which the lab closes).
  lab->spawn(server, {"openssl", "s_server", "-accept", "8443", "-cert", dir_ + "/leaf.pem", "-key",
                      dir_ + "/leaf.key", "-www"});
  ASSERT_TRUE(lab->wait_listen(server, 8443));
  auto r =
      lab->sonde(client, {"tls", server.addr + ":8443", "--sni", "sonde.test", "--ca-file", ca(),
                          "--timeout", "1500ms", "--via", lab->via_agent(other), "--json"});
  EXPECT_EQ(r.exit_code, 1) << describe(r) << r.out;
  auto j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  ASSERT_EQ(j["sides"].size(), 2u) << r.out;
  const json& local = j["sides"][0]["result"];
  const json& via = j["sides"][1]["result"];
  EXPECT_EQ(local["outcome"], "ok") << local.dump();
  EXPECT_EQ(local["address"], server.addr);
  EXPECT_EQ(via["outcome"], "connect_failed") << via.dump();
  EXPECT_EQ(via["failure"]["kind"], "timeout") << via.dump();
  EXPECT_TRUE(contains(j["differences"].dump(), "local gets TLS, via does not")) << j.dump();
}

}  // namespace
}  // namespace sonde::testing
