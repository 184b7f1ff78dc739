// The TLS probe against real `openssl s_server`s on loopback, with throwaway
// certificates made here with the OpenSSL API (a CA, a leaf it signs, a
// self-signed one, an expired one), and against plaintext servers in threads
// (HTTP, SSH and SMTP banners, silence, a close, a reset). The openssl CLI is
// the oracle for fingerprints and serials.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include "sonde/common/subprocess.h"
#include "sonde/net/tls.h"
#include "support/contains.h"
#include "support/sserver.h"

namespace sonde::net {
namespace {

using sonde::testing::contains;

bool have_openssl() {
  auto r = run_capture({"openssl", "version"}, 10000);
  return r.ok() && r->exit_code == 0;
}

// ---- certificates ----

struct KeyCert {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string key_path, cert_path;
  ~KeyCert() {
    EVP_PKEY_free(key);
    X509_free(cert);
  }
};

void add_ext(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  ASSERT_NE(e, nullptr) << value;
  X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
}

// A P-256 key and a certificate valid from now+from_days to now+to_days,
// signed by `ca` (self-signed when null). san may be empty.
std::unique_ptr<KeyCert> make_cert(const std::string& dir, const std::string& name,
                                   const std::string& cn, const std::string& san, long serial,
                                   long from_days, long to_days, const KeyCert* ca, bool is_ca) {
  auto kc = std::make_unique<KeyCert>();
  kc->key = EVP_EC_gen("P-256");
  kc->cert = X509_new();
  X509* x = kc->cert;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400L);
  X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400L);
  X509_set_pubkey(x, kc->key);
  X509_NAME* n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("sonde tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer = ca ? ca->cert : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer));
  add_ext(x, issuer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (is_ca) add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(x, issuer, NID_subject_key_identifier, "hash");
  if (ca) add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
  if (!is_ca) add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
  if (!san.empty()) add_ext(x, issuer, NID_subject_alt_name, san.c_str());
  X509_sign(x, ca ? ca->key : kc->key, EVP_sha256());
  kc->key_path = dir + "/" + name + ".key";
  kc->cert_path = dir + "/" + name + ".pem";
  FILE* f = std::fopen(kc->key_path.c_str(), "w");
  PEM_write_PrivateKey(f, kc->key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  f = std::fopen(kc->cert_path.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  return kc;
}

std::string read_file(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// ---- servers ----

using sonde::testing::SServer;

// s_server with kc's key and certificate and without DHE key exchange.
std::unique_ptr<SServer> serve(const KeyCert& kc, std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), "-no_dhe");
  return std::make_unique<SServer>(kc.cert_path, kc.key_path, extra);
}

// A TCP server on 127.0.0.1 that runs `serve(fd)` for each connection in a
// thread, until destroyed.
class PlainServer {
 public:
  explicit PlainServer(std::function<void(int)> serve) : serve_(std::move(serve)) {
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
        serve_(fd);
        ::close(fd);
      }
    });
  }
  ~PlainServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(lfd_);
  }
  int port() const { return port_; }

 private:
  std::function<void(int)> serve_;
  int lfd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Reads (and drops) what the client sends until it closes or ms pass.
void drain(int fd, int ms) {
  char buf[4096];
  for (int waited = 0; waited < ms; waited += 50) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    if (::recv(fd, buf, sizeof buf, 0) <= 0) return;
  }
}

void send_all(int fd, const std::string& s) {
  (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
}

// ---- fixture ----

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_openssl()) return;
    dir_ = new std::string(::testing::TempDir() + "sonde-tls-unit-" + std::to_string(::getpid()));
    std::filesystem::create_directories(*dir_);
    ca_ = make_cert(*dir_, "ca", "sonde test CA", "", 1, -1, 30, nullptr, true).release();
    leaf_ = make_cert(*dir_, "leaf", "sonde.test", "DNS:sonde.test,DNS:*.sonde.test,IP:127.0.0.1",
                      0x1234ABCD, -1, 30, ca_, false)
                .release();
    self_ = make_cert(*dir_, "self", "localhost", "DNS:localhost,IP:127.0.0.1", 77, -1, 10, nullptr,
                      false)
                .release();
    expired_ = make_cert(*dir_, "expired", "sonde.test", "DNS:sonde.test,IP:127.0.0.1", 78, -30, -2,
                         ca_, false)
                   .release();
    nosan_ = make_cert(*dir_, "nosan", "127.0.0.1", "", 79, -1, 30, ca_, false).release();
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete leaf_;
    delete self_;
    delete expired_;
    delete nosan_;
    if (dir_) std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "the openssl command is not installed (apt-get install openssl)";
  }
  static TlsArgs opts(int port, const std::string& host = "127.0.0.1") {
    TlsArgs o;
    o.host = host;
    o.port = port;
    o.timeout_ms = 5000;
    return o;
  }
  static std::string oracle(const std::string& cert, const char* what) {
    auto r = run_capture({"openssl", "x509", "-in", cert, "-noout", what}, 10000);
    if (!r.ok()) return "";
    std::string s = r->out;
    auto eq = s.find('=');
    s = eq == std::string::npos ? s : s.substr(eq + 1);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }

  static std::string* dir_;
  static KeyCert *ca_, *leaf_, *self_, *expired_, *nosan_;
};
std::string* Tls::dir_ = nullptr;
KeyCert *Tls::ca_ = nullptr, *Tls::leaf_ = nullptr, *Tls::self_ = nullptr, *Tls::expired_ = nullptr,
        *Tls::nosan_ = nullptr;

TEST_F(Tls, CaSignedLeafVerifiesWithCaPemAndEveryFieldIsRight) {
  auto s = serve(*leaf_, {"-alpn", "h2,http/1.1"});
  ASSERT_GT(s->port(), 0);
  auto o = opts(s->port());
  o.sni = "www.sonde.test";
  o.ca_pem = read_file(ca_->cert_path);
  auto r = tls_probe(o, nullptr);
  ASSERT_TRUE(r.tls) << r.error;
  EXPECT_EQ(r.outcome, "ok") << r.error;
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.stage, "done");
  EXPECT_EQ(r.address, "127.0.0.1");
  EXPECT_EQ(r.sni, "www.sonde.test");
  EXPECT_EQ(r.version, "TLSv1.3");
  EXPECT_EQ(r.cipher, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(r.cipher_bits, 256);
  EXPECT_EQ(r.alpn, "h2");
  EXPECT_FALSE(r.ocsp_stapled);
  ASSERT_EQ(r.chain.size(), 1u);  // s_server sends just the leaf here
  const TlsCert& c = r.chain[0];
  EXPECT_EQ(c.subject, "O=sonde tests, CN=sonde.test");
  EXPECT_EQ(c.issuer, "O=sonde tests, CN=sonde test CA");
  EXPECT_EQ(c.subject_cn, "sonde.test");
  EXPECT_EQ(c.dns_names, (std::vector<std::string>{"sonde.test", "*.sonde.test"}));
  EXPECT_EQ(c.ip_addresses, (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_EQ(c.serial, oracle(leaf_->cert_path, "-serial"));
  EXPECT_EQ(c.serial, "1234ABCD");
  EXPECT_EQ(c.key_type, "EC");
  EXPECT_EQ(c.key_bits, 256);
  EXPECT_EQ(c.key_curve, "prime256v1");
  EXPECT_EQ(c.signature_algorithm, "ecdsa-with-SHA256");
  EXPECT_TRUE(c.days_left == 29 || c.days_left == 30) << c.days_left;
  EXPECT_FALSE(c.self_signed);
  EXPECT_FALSE(c.is_ca);
  EXPECT_EQ(c.not_after.size(), 20u);
  EXPECT_EQ(c.not_after.back(), 'Z');
  EXPECT_EQ(r.store_kind, "ca_pem");
  EXPECT_EQ(r.store_certs, 1);
  EXPECT_TRUE(r.verified);
  EXPECT_TRUE(r.verify_errors.empty());
  ASSERT_EQ(r.trusted_chain.size(), 2u);
  EXPECT_EQ(r.trusted_chain[1], "O=sonde tests, CN=sonde test CA");
  EXPECT_EQ(r.hostname_checked, "www.sonde.test");
  EXPECT_TRUE(r.hostname_ok);
  EXPECT_EQ(r.hostname_matched, "*.sonde.test");
  EXPECT_TRUE(contains(r.summary, "TLSv1.3")) << r.summary;
  EXPECT_TRUE(contains(r.summary, "verified")) << r.summary;

  json j = to_json(r);
  EXPECT_EQ(j["outcome"], "ok");
  EXPECT_EQ(j["handshake"]["alpn"], "h2");
  EXPECT_EQ(j["chain"][0]["sha256"], c.sha256);
  EXPECT_EQ(j["verify"]["ok"], true);
  EXPECT_EQ(j["hostname"]["ok"], true);
  EXPECT_EQ(j["summary"], r.summary);
  EXPECT_TRUE(j["banner"].is_null());
}

TEST_F(Tls, FingerprintMatchesOpensslSha256) {
  auto r = run_capture(
      {"openssl", "x509", "-in", leaf_->cert_path, "-noout", "-fingerprint", "-sha256"}, 10000);
  ASSERT_TRUE(r.ok());
  auto s = serve(*leaf_);
  ASSERT_GT(s->port(), 0);
  auto p = tls_probe(opts(s->port()), nullptr);
  ASSERT_EQ(p.chain.size(), 1u) << p.error;
  EXPECT_TRUE(contains(r->out, "=" + p.chain[0].sha256 + "\n")) << r->out << p.chain[0].sha256;
}

TEST_F(Tls, IpAddressIsCheckedAgainstIpSans) {
  auto s = serve(*leaf_);
  ASSERT_GT(s->port(), 0);
  auto o = opts(s->port());
  o.ca_pem = read_file(ca_->cert_path);
  auto r = tls_probe(o, nullptr);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.sni, "");  // never SNI for an address
  EXPECT_TRUE(r.hostname_is_ip);
  EXPECT_EQ(r.hostname_matched, "127.0.0.1");
}

TEST_F(Tls, SelfSignedIsAFindingNotAnError) {
  auto s = serve(*self_);
  ASSERT_GT(s->port(), 0);
  auto r = tls_probe(opts(s->port(), "localhost"), nullptr);
  ASSERT_TRUE(r.tls) << r.error;
  EXPECT_EQ(r.outcome, "verify_failed");
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.verified);
  ASSERT_FALSE(r.verify_errors.empty());
  EXPECT_EQ(r.verify_errors[0].code, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
  EXPECT_EQ(r.verify_errors[0].reason, "self-signed certificate");
  EXPECT_TRUE(r.chain[0].self_signed);
  EXPECT_TRUE(r.hostname_ok);  // the name is right, only the trust is missing
  EXPECT_EQ(r.sni, "localhost");
  EXPECT_TRUE(contains(r.error, "self-signed certificate")) << r.error;
  EXPECT_TRUE(contains(r.hint, "--ca-file")) << r.hint;
  EXPECT_TRUE(contains(r.summary, "NOT verified: self-signed certificate")) << r.summary;
  // The system store was found and named.
  EXPECT_NE(r.store_kind, "none");
  EXPECT_FALSE(r.store_path.empty());
}

TEST_F(Tls, ExpiredCertificateHasNegativeDaysLeft) {
  auto s = serve(*expired_);
  ASSERT_GT(s->port(), 0);
  auto o = opts(s->port());
  o.sni = "sonde.test";
  o.ca_pem = read_file(ca_->cert_path);
  auto r = tls_probe(o, nullptr);
  ASSERT_TRUE(r.tls) << r.error;
  EXPECT_EQ(r.outcome, "verify_failed");
  ASSERT_EQ(r.verify_errors.size(), 1u);
  EXPECT_EQ(r.verify_errors[0].reason, "certificate has expired");
  EXPECT_EQ(r.chain[0].days_left, -2);
  EXPECT_TRUE(r.hostname_ok);
  EXPECT_TRUE(contains(r.summary, "expired 2 days ago")) << r.summary;
  EXPECT_TRUE(contains(r.hint, "renew")) << r.hint;
}

TEST_F(Tls, UnknownIssuerAgainstTheSystemStore) {
  auto s = serve(*leaf_);
  ASSERT_GT(s->port(), 0);
  auto o = opts(s->port());
  o.sni = "sonde.test";
  auto r = tls_probe(o, nullptr);
  ASSERT_TRUE(r.tls) << r.error;
  ASSERT_FALSE(r.verify_errors.empty());
  EXPECT_EQ(r.verify_errors[0].reason, "unable to get local issuer certificate");
  EXPECT_TRUE(r.hostname_ok);
}

TEST_F(Tls, CaSentInTheChainIsSelfSignedInChain) {
  auto s = serve(*leaf_, {"-cert_chain", ca_->cert_path});
  ASSERT_GT(s->port(), 0);
  auto o = opts(s->port());
  o.sni = "sonde.test";
  auto r = tls_probe(o, nullptr);
  ASSERT_EQ(r.chain.size(), 2u) << r.error;
  EXPECT_TRUE(r.chain[1].is_ca);
  EXPECT_TRUE(r.chain[1].self_signed);
  EXPECT_EQ(r.chain[1].depth, 1);
  ASSERT_FALSE(r.verify_errors.empty());
  EXPECT_EQ(r.verify_errors[0].reason, "self-signed certificate in certificate chain");
}

TEST_F(Tls, HostnameMismatchNamesTheCertificatesNames) {
  auto s = serve(*leaf_);
  ASSERT_GT(s->port(), 0);
  auto o = opts(s->port());
  o.sni = "other.example";
  o.ca_pem = read_file(ca_->cert_path);
  auto r = tls_probe(o, nullptr);
  ASSERT_TRUE(r.tls) << r.error;
  EXPECT_TRUE(r.verified);
  EXPECT_FALSE(r.hostname_ok);
  EXPECT_EQ(r.outcome, "verify_failed");
  EXPECT_TRUE(contains(r.error, "not for other.example")) << r.error;
  EXPECT_TRUE(contains(r.error, "DNS:sonde.test, DNS:*.sonde.test, IP:127.0.0.1")) << r.error;
  EXPECT_TRUE(contains(r.summary, "does NOT match")) << r.summary;
}

TEST_F(Tls, CaFileOnThisHostAndCnOnlyCertificate) {
  auto s = serve(*nosan_);
  ASSERT_GT(s->port(), 0);
  auto o = opts(s->port());
  o.ca_file = ca_->cert_path;
  auto r = tls_probe(o, nullptr);
  ASSERT_TRUE(r.tls) << r.error;
  EXPECT_EQ(r.store_kind, "ca_file");
  EXPECT_EQ(r.store_path, ca_->cert_path);
  EXPECT_TRUE(r.verified);
  // X509_check_ip_asc never looks at the CN: an IP in the CN does not count.
  EXPECT_FALSE(r.hostname_ok);
  EXPECT_TRUE(contains(r.error, "CN=127.0.0.1")) << r.error;
}

TEST_F(Tls, StoreFromSslCertFile) {
  auto s = serve(*leaf_);
  ASSERT_GT(s->port(), 0);
  ::setenv("SSL_CERT_FILE", ca_->cert_path.c_str(), 1);
  auto o = opts(s->port());
  o.sni = "sonde.test";
  auto r = tls_probe(o, nullptr);
  ::unsetenv("SSL_CERT_FILE");
  EXPECT_EQ(r.store_kind, "file");
  EXPECT_EQ(r.store_path, ca_->cert_path);
  EXPECT_TRUE(r.ok) << r.error;
}

TEST_F(Tls, VersionMismatchIsNamed) {
  auto s = serve(*leaf_, {"-tls1_3"});
  ASSERT_GT(s->port(), 0);
  auto o = opts(s->port());
  o.max_version = "1.2";
  auto r = tls_probe(o, nullptr);
  EXPECT_FALSE(r.tls);
  EXPECT_EQ(r.outcome, "handshake_failed");
  EXPECT_EQ(r.failure_kind, "version") << r.error;
  EXPECT_EQ(r.alert, "protocol version") << r.error;
  EXPECT_TRUE(contains(r.error, "protocol version")) << r.error;
}

TEST_F(Tls, Tls12WhenAsked) {
  auto s = serve(*leaf_);
  ASSERT_GT(s->port(), 0);
  auto o = opts(s->port());
  o.max_version = "1.2";
  o.alpn = {};
  auto r = tls_probe(o, nullptr);
  ASSERT_TRUE(r.tls) << r.error;
  EXPECT_EQ(r.version, "TLSv1.2");
  EXPECT_EQ(r.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
  EXPECT_EQ(r.cipher_iana, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
  EXPECT_EQ(r.alpn, "");
}

TEST_F(Tls, ClientCertificateRequestIsNoted) {
  auto s = serve(*leaf_, {"-verify", "1", "-tls1_2"});
  ASSERT_GT(s->port(), 0);
  auto r = tls_probe(opts(s->port()), nullptr);
  ASSERT_TRUE(r.tls) << r.error;
  EXPECT_TRUE(r.client_cert_requested);
}

// TLS 1.3: the client's handshake ends before the server checks for our
// certificate; its "certificate required" alert comes afterwards.
TEST_F(Tls, RequiredClientCertificateTls13) {
  auto s = serve(*leaf_, {"-Verify", "1", "-CAfile", ca_->cert_path});
  ASSERT_GT(s->port(), 0);
  auto o = opts(s->port());
  o.ca_pem = read_file(ca_->cert_path);
  auto r = tls_probe(o, nullptr);
  EXPECT_TRUE(r.client_cert_requested) << r.error;
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.outcome, "handshake_failed");
  EXPECT_EQ(r.failure_kind, "alert");
  EXPECT_EQ(r.alert, "certificate required");
  EXPECT_TRUE(contains(r.hint, "client certificate")) << r.hint;
}

TEST_F(Tls, RequiredClientCertificateTls12) {
  auto s = serve(*leaf_, {"-Verify", "1", "-CAfile", ca_->cert_path});
  ASSERT_GT(s->port(), 0);
  auto o = opts(s->port());
  o.max_version = "1.2";
  auto r = tls_probe(o, nullptr);
  EXPECT_FALSE(r.tls);
  EXPECT_EQ(r.outcome, "handshake_failed");
  EXPECT_EQ(r.failure_kind, "alert") << r.error;
  EXPECT_TRUE(contains(r.hint, "client certificate")) << r.hint << " / " << r.alert;
}

TEST_F(Tls, SshBannerIsNotTls) {
  PlainServer p([](int fd) {
    send_all(fd, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    drain(fd, 2000);
  });
  ASSERT_GT(p.port(), 0);
  auto r = tls_probe(opts(p.port()), nullptr);
  EXPECT_FALSE(r.tls);
  EXPECT_EQ(r.outcome, "not_tls");
  EXPECT_EQ(r.stage, "banner");
  EXPECT_TRUE(r.server_first);
  EXPECT_EQ(r.banner_text, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
  EXPECT_EQ(r.banner_protocol, "ssh");
  EXPECT_TRUE(contains(r.summary, "is not TLS")) << r.summary;
  EXPECT_TRUE(contains(r.summary, "SSH-2.0-OpenSSH_9.2p1")) << r.summary;
  EXPECT_TRUE(contains(r.hint, "SSH")) << r.hint;
}

TEST_F(Tls, SmtpBannerHintsStarttls) {
  PlainServer p([](int fd) {
    send_all(fd, "220 mail.example ESMTP Postfix\r\n");
    drain(fd, 2000);
  });
  auto r = tls_probe(opts(p.port()), nullptr);
  EXPECT_EQ(r.outcome, "not_tls");
  EXPECT_EQ(r.banner_protocol, "smtp");
  EXPECT_TRUE(contains(r.hint, "STARTTLS")) << r.hint;
}

TEST_F(Tls, HostileBannerIsMadeSafeAndBounded) {
  PlainServer p([](int fd) {
    send_all(fd, std::string("\x1b]0;owned\x07\xff\xfe") + std::string(5000, 'A') + "\n");
    drain(fd, 2000);
  });
  auto r = tls_probe(opts(p.port()), nullptr);
  EXPECT_EQ(r.outcome, "not_tls");
  EXPECT_LE(r.banner_text.size(), 200u);
  EXPECT_LE(r.banner_bytes, 1024u);
  for (char c : r.banner_text) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(c);
  EXPECT_NO_THROW((void)to_json(r).dump());
}

TEST_F(Tls, HttpServerAnswersClientHelloInPlaintext) {
  PlainServer p([](int fd) {
    char buf[512];
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, 3000) > 0) (void)::recv(fd, buf, sizeof buf, 0);
    send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    drain(fd, 300);
  });
  auto r = tls_probe(opts(p.port()), nullptr);
  EXPECT_FALSE(r.tls);
  EXPECT_EQ(r.outcome, "not_tls") << r.error;
  EXPECT_EQ(r.stage, "handshake");
  EXPECT_FALSE(r.server_first);
  EXPECT_EQ(r.failure_kind, "plaintext");
  EXPECT_EQ(r.banner_text, "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(r.banner_protocol, "http");
  EXPECT_TRUE(contains(r.error, "HTTP/1.1 400 Bad Request")) << r.error;
}

TEST_F(Tls, SilentServerTimesOut) {
  PlainServer p([](int fd) { drain(fd, 3000); });
  auto o = opts(p.port());
  o.timeout_ms = 500;
  auto r = tls_probe(o, nullptr);
  EXPECT_EQ(r.outcome, "handshake_failed");
  EXPECT_EQ(r.failure_kind, "timeout");
  EXPECT_TRUE(contains(r.error, "no TLS answer within 500 ms")) << r.error;
  EXPECT_FALSE(r.hint.empty());
}

TEST_F(Tls, ServerThatClosesAtOnce) {
  PlainServer p([](int) {});
  auto r = tls_probe(opts(p.port()), nullptr);
  EXPECT_EQ(r.outcome, "handshake_failed");
  EXPECT_EQ(r.failure_kind, "closed") << r.error;
  EXPECT_TRUE(contains(r.error, "closed")) << r.error;
}

// No listening first: the ClientHello goes to a socket the peer has closed.
// The probe must survive the SIGPIPE (this test process does not ignore it).
TEST_F(Tls, ClosedPeerWithoutBannerWaitRaisesNoSigpipe) {
  PlainServer p([](int fd) {
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  });
  for (int i = 0; i < 5; ++i) {
    auto o = opts(p.port());
    o.banner_wait_ms = 0;
    ::usleep(20000);
    auto r = tls_probe(o, nullptr);
    EXPECT_FALSE(r.tls);
    // The reset may even beat our connect's completion.
    EXPECT_TRUE(r.failure_kind == "closed" || r.failure_kind == "reset") << r.error;
  }
}

TEST_F(Tls, ServerThatClosesAfterTheClientHello) {
  PlainServer p([](int fd) {
    char buf[4096];
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, 3000) > 0) (void)::recv(fd, buf, sizeof buf, 0);
    ::shutdown(fd, SHUT_RDWR);
  });
  auto r = tls_probe(opts(p.port()), nullptr);
  EXPECT_EQ(r.outcome, "handshake_failed");
  EXPECT_EQ(r.stage, "handshake");
  EXPECT_TRUE(r.failure_kind == "closed" || r.failure_kind == "reset") << r.error;
}

TEST_F(Tls, ServerThatResets) {
  PlainServer p([](int fd) {
    char buf[4096];
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, 3000) > 0) (void)::recv(fd, buf, 1, 0);  // leave data unread
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  });
  auto r = tls_probe(opts(p.port()), nullptr);
  EXPECT_EQ(r.outcome, "handshake_failed");
  EXPECT_EQ(r.failure_kind, "reset") << r.error;
  EXPECT_TRUE(contains(r.error, "reset")) << r.error;
}

TEST_F(Tls, RefusedPortAndUnknownName) {
  // A bound socket that does not listen: the kernel refuses connections to it.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  int port = ntohs(a.sin_port);
  auto r = tls_probe(opts(port), nullptr);
  EXPECT_EQ(r.outcome, "connect_failed");
  EXPECT_EQ(r.failure_kind, "refused");
  EXPECT_TRUE(contains(r.error, "connection refused")) << r.error;
  ::close(fd);
  auto n = tls_probe(opts(443, "no-such-host.invalid"), nullptr);
  EXPECT_EQ(n.outcome, "resolve_failed");
  EXPECT_EQ(n.failure_kind, "resolve");
  EXPECT_TRUE(contains(n.hint, "sonde dns")) << n.hint;
}

TEST_F(Tls, CancelStopsTheHandshakeWait) {
  PlainServer p([](int fd) { drain(fd, 5000); });
  CancelToken cancel;
  std::thread t([&] {
    ::usleep(300000);
    cancel.cancel();
  });
  auto o = opts(p.port());
  o.timeout_ms = 60000;
  auto r = tls_probe(o, &cancel);
  t.join();
  EXPECT_EQ(r.failure_kind, "cancelled");
}

TEST_F(Tls, BadOptions) {
  auto bad = [](TlsArgs o) { return !tls_validate(o).ok(); };
  TlsArgs ok = opts(443, "example.com");
  EXPECT_TRUE(tls_validate(ok).ok());
  auto o = ok;
  o.host = "";
  EXPECT_TRUE(bad(o));
  o = ok;
  o.host = "a b";
  EXPECT_TRUE(bad(o));
  o = ok;
  o.port = 0;
  EXPECT_TRUE(bad(o));
  o.port = 65536;
  EXPECT_TRUE(bad(o));
  o = ok;
  o.sni = "1.2.3.4";
  EXPECT_TRUE(bad(o));
  o.sni = "bad..name";
  EXPECT_TRUE(bad(o));
  o.sni = "ok.name";
  o.no_sni = true;
  EXPECT_TRUE(bad(o));
  o = ok;
  o.alpn = {""};
  EXPECT_TRUE(bad(o));
  o.alpn = {std::string(256, 'x')};
  EXPECT_TRUE(bad(o));
  o = ok;
  o.min_version = "1.4";
  EXPECT_TRUE(bad(o));
  o.min_version = "1.3";
  o.max_version = "1.2";
  EXPECT_TRUE(bad(o));
  o = ok;
  o.timeout_ms = 0;
  EXPECT_TRUE(bad(o));
  o = ok;
  o.banner_wait_ms = -1;
  EXPECT_TRUE(bad(o));
  o = ok;
  o.ca_pem = "garbage";
  EXPECT_TRUE(bad(o));
  o = ok;
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_TRUE(bad(o));
  o.ca_file = "/etc/hostname";
  EXPECT_TRUE(bad(o));
  // An invalid option never reaches the network.
  o = ok;
  o.port = -5;
  auto r = tls_probe(o, nullptr);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.error, "bad options")) << r.error;
}

TEST(TlsHelpers, BannerLineAndProtocolAndUtf8) {
  EXPECT_EQ(tls_banner_line("SSH-2.0-x\r\nmore"), "SSH-2.0-x");
  EXPECT_EQ(tls_banner_line("\r\n220 hi\r\n"), "220 hi");
  EXPECT_EQ(tls_banner_line(std::string("a\x01\x1b"
                                        "b")),
            "a..b");
  EXPECT_EQ(tls_banner_line(std::string(500, 'x')).size(), 200u);
  EXPECT_EQ(tls_guess_protocol("SSH-2.0-OpenSSH"), "ssh");
  EXPECT_EQ(tls_guess_protocol("HTTP/1.0 400"), "http");
  EXPECT_EQ(tls_guess_protocol("220 ProFTPD Server"), "ftp");
  EXPECT_EQ(tls_guess_protocol("220 mx ESMTP"), "smtp");
  EXPECT_EQ(tls_guess_protocol("+OK POP3"), "pop3");
  EXPECT_EQ(tls_guess_protocol("* OK IMAP4rev1"), "imap");
  EXPECT_EQ(tls_guess_protocol(std::string("\x4a\x00\x00\x00\x0a"
                                           "8.0.36",
                                           11)),
            "mysql");
  EXPECT_EQ(tls_guess_protocol("hello"), "");
  EXPECT_EQ(tls_utf8_safe("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(tls_utf8_safe("a\xff"
                          "b\xc0\x80"),
            "a?b??");
  EXPECT_EQ(tls_utf8_safe("x\ny"), "x?y");
  EXPECT_EQ(tls_utf8_safe("\xe2\x82"), "??");
}

}  // namespace
}  // namespace sonde::net
