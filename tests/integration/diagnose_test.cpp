// sonde diagnose end to end on hosts built from network namespaces: the
// controller runs in `client`, a second side is an agent in `web1` (--via),
// and `server` has the listeners and the nftables rules. Each test checks the
// verdict sentence and the rung that failed first.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/netlab.h"

namespace sonde::testing {
namespace {

using json = nlohmann::json;

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A tiny HTTP server: every GET gets `status` with a short body.
std::string http_server(int port, int status) {
  return "import http.server\n"
         "class H(http.server.BaseHTTPRequestHandler):\n"
         "  def do_GET(self):\n"
         "    self.send_response(" +
         std::to_string(status) +
         ")\n"
         "    self.send_header('Content-Length','2'); self.end_headers(); self.wfile.write(b'ok')\n"
         "  def log_message(self,*a): pass\n"
         "http.server.HTTPServer(('0.0.0.0'," +
         std::to_string(port) + "),H).serve_forever()\n";
}

class Diagnose : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    lab_ = NetLab::create(&why);
    if (!lab_) {
      if (why.empty()) FAIL() << "the lab could not be built";
      GTEST_SKIP() << why;
    }
    client_ = lab_->add_host("client");
    web1_ = lab_->add_host("web1");
    server_ = lab_->add_host("server");
    ASSERT_FALSE(server_.ns.empty());
    // No nameserver anywhere (glibc then asks 127.0.0.1, refused at once);
    // only the client's /etc/hosts knows db.lab.
    for (const auto* h : {&client_, &web1_, &server_})
      ASSERT_TRUE(lab_->etc_file(*h, "resolv.conf", ""));
    ASSERT_TRUE(
        lab_->etc_file(client_, "hosts", "127.0.0.1 localhost\n" + server_.addr + " db.lab\n"));
    ASSERT_GT(lab_->spawn(server_, {"python3", "-c", http_server(8080, 200)}), 0);
    ASSERT_GT(lab_->spawn(server_, {"python3", "-c", http_server(8081, 503)}), 0);
    ASSERT_TRUE(lab_->wait_listen(server_, 8080));
    ASSERT_TRUE(lab_->wait_listen(server_, 8081));
    // 5432: dropped for web1, reset for everyone else. 5433: dropped for all.
    ASSERT_TRUE(lab_->nft(server_,
                          "table inet f {\n"
                          "  chain in {\n"
                          "    type filter hook input priority 0;\n"
                          "    ip saddr " +
                              web1_.addr +
                              " tcp dport 5432 drop\n"
                              "    tcp dport 5432 reject with tcp reset\n"
                              "    tcp dport 5433 drop\n"
                              "  }\n"
                              "}\n"));
  }

  sonde::testing::Run diagnose(std::vector<std::string> args) {
    std::vector<std::string> a{"diagnose", "--via", lab_->via_agent(web1_)};
    a.insert(a.end(), args.begin(), args.end());
    return lab_->sonde(client_, a, {}, 60000);
  }

  std::unique_ptr<NetLab> lab_;
  NetLab::Host client_, web1_, server_;
};

TEST_F(Diagnose, EveryRungPasses) {
  auto r = diagnose({server_.addr + ":8080", "--http", "/health"});
  EXPECT_EQ(r.exit_code, 0) << describe(r) << r.out;
  EXPECT_TRUE(has(r.out, "verdict: every rung passes from every side (route, connect, http)"))
      << r.out;
  EXPECT_TRUE(has(r.out, "== local")) << r.out;
  EXPECT_TRUE(has(r.out, "== via")) << r.out;
  EXPECT_TRUE(has(r.out, "HTTP 200")) << r.out;
}

TEST_F(Diagnose, DroppedFromOneSideRefusedFromTheOther) {
  auto r = diagnose({server_.addr + ":5432", "--timeout", "1s", "--count", "1"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(has(r.out,
                  "verdict: port 5432 is dropped from via, refused from local: a firewall on "
                  "via's path drops it"))
      << r.out;
  EXPECT_TRUE(has(r.out, "local: connect: " + server_.addr + ":5432")) << r.out;
  EXPECT_TRUE(has(r.out, "sonde capture SERVER 'tcp port 5432'")) << r.out;
}

TEST_F(Diagnose, DroppedEverywhere) {
  auto r = diagnose({server_.addr + ":5433", "--timeout", "1s", "--count", "1", "--json"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["verdict"]["failing_layer"], "connect");
  EXPECT_TRUE(has(j["verdict"]["verdict"].get<std::string>(), "dropped from every side"))
      << j.dump(2);
  // The later rungs are listed as not run.
  ASSERT_EQ(j["sides"].size(), 2u);
  for (const auto& s : j["sides"]) {
    for (const auto& l : s["layers"]) {
      if (l["layer"] == "connect") {
        EXPECT_EQ(l["verdict"], "timeout") << s.dump(2);
      }
    }
  }
}

TEST_F(Diagnose, NameResolvesOnlyOnOneSide) {
  auto r = diagnose({"db.lab:8080"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(has(r.out, "verdict: db.lab resolves from local but not from via")) << r.out;
  EXPECT_TRUE(has(r.out, "sonde dns db.lab")) << r.out;
}

TEST_F(Diagnose, ServerErrorIsTheHttpRung) {
  auto r = diagnose({server_.addr + ":8081", "--http", "/"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(has(r.out, "verdict: the server answers HTTP 503")) << r.out;
  EXPECT_TRUE(has(r.out, "unhealthy")) << r.out;
}

TEST_F(Diagnose, TlsOnAPlainPort) {
  auto r = diagnose({server_.addr + ":8080", "--tls", "--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(has(r.out, "verdict: port 8080 does not speak TLS")) << r.out;
}

TEST_F(Diagnose, SelfSignedCertificateIsUntrusted) {
  std::string key = lab_->dir() + "/k.pem", cert = lab_->dir() + "/c.pem";
  auto g = run_cmd({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-subj", "/CN=server", "-days", "2"});
  ASSERT_EQ(g.exit_code, 0) << describe(g);
  ASSERT_GT(lab_->spawn(server_, {"openssl", "s_server", "-quiet", "-accept", "8443", "-cert", cert,
                                  "-key", key, "-www"}),
            0);
  ASSERT_TRUE(lab_->wait_listen(server_, 8443));
  auto r = diagnose({server_.addr + ":8443", "--tls", "--http", "/"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(has(r.out, "verdict: the certificate is not trusted: self-signed certificate"))
      << r.out;
  EXPECT_TRUE(has(r.out, "http     -     not run: tls failed")) << r.out;
}

TEST_F(Diagnose, BadArguments) {
  auto r = lab_->sonde(client_, {"diagnose"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  r = lab_->sonde(client_, {"diagnose", "db:notaport"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  r = lab_->sonde(client_, {"diagnose", "db:80", "--http", "nopath"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(has(r.err, "hint:")) << r.err;
  // --ca-file as tls takes it, with --tls only; --timeout a duration.
  r = lab_->sonde(client_, {"diagnose", "db:443", "--ca-file", "/etc/hostname"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(has(r.err, "--ca-file needs --tls")) << r.err;
  r = lab_->sonde(client_, {"diagnose", "db:443", "--tls", "--ca-file", "/etc/hostname"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(has(r.err, "no PEM certificate")) << r.err;
  r = lab_->sonde(client_, {"diagnose", "db:80", "--timeout", "soon"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(has(r.err, "not a duration")) << r.err;
}

}  // namespace
}  // namespace sonde::testing
