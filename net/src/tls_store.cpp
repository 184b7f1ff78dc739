// The trust store the chain is verified against (the CA given, else the
// system's, found at run time), the verification with every error of the
// chain kept, the hostname check, and the checks of the CA given.
#include "sonde/net/tls.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "sonde/net/address.h"
#include "tls_internal.h"

namespace sonde::net {
namespace tls_detail {

int version_number(const std::string& v) {
  if (v == "1.0") return TLS1_VERSION;
  if (v == "1.1") return TLS1_1_VERSION;
  if (v == "1.2") return TLS1_2_VERSION;
  if (v == "1.3") return TLS1_3_VERSION;
  return -1;
}

std::string openssl_errors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    const char* r = ERR_reason_error_string(e);
    std::string s = r ? r : fmt::format("error {:#x}", e);
    if (out.find(s) == std::string::npos) out += (out.empty() ? "" : "; ") + s;
  }
  return out;
}

bool hashed_dir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = ::readdir(d)) {
    // c_rehash names: 8 hex digits, '.', a number.
    std::string n = e->d_name;
    if (n.size() >= 10 && n[8] == '.' &&
        std::all_of(n.begin(), n.begin() + 8, [](char c) { return std::isxdigit(c); })) {
      found = true;
      break;
    }
  }
  ::closedir(d);
  return found;
}

int store_count(X509_STORE* s) {
  return sk_X509_OBJECT_num(X509_STORE_get0_objects(s));
}

int add_pem(X509_STORE* s, const std::string& pem) {
  BioPtr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  int n = 0;
  while (X509* x = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(s, x) == 1) ++n;
    X509_free(x);
  }
  ERR_clear_error();  // the read that ends the loop leaves "no start line"
  return n;
}

// What SSL_CTX_set_default_verify_paths would use (the env vars, then the
// paths compiled into this OpenSSL), then the bundles of the distributions
// we know: the agent is static, its compiled-in OPENSSLDIR is the build
// host's and may not exist on the target.
StorePtr load_store(const TlsArgs& o, TlsResult& r) {
  StorePtr s(X509_STORE_new());
  if (!o.ca_pem.empty()) {
    r.store_kind = "ca_pem";
    r.store_certs = add_pem(s.get(), o.ca_pem);
    return s;
  }
  if (!o.ca_file.empty()) {
    r.store_kind = "ca_file";
    r.store_path = o.ca_file;
    X509_STORE_load_file(s.get(), o.ca_file.c_str());
    ERR_clear_error();
    r.store_certs = store_count(s.get());
    return s;
  }
  std::vector<std::string> files, dirs;
  if (const char* f = std::getenv(X509_get_default_cert_file_env()); f && *f) files.push_back(f);
  if (const char* d = std::getenv(X509_get_default_cert_dir_env()); d && *d) {
    // SSL_CERT_DIR may list several, colon-separated.
    std::string all = d;
    for (size_t p = 0; p <= all.size();) {
      size_t c = all.find(':', p);
      if (c == std::string::npos) c = all.size();
      if (c > p) dirs.push_back(all.substr(p, c - p));
      p = c + 1;
    }
  }
  files.push_back(X509_get_default_cert_file());
  for (const char* f :
       {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem", "/usr/local/share/certs/ca-root-nss.crt", "/etc/pki/tls/cacert.pem"})
    files.push_back(f);
  dirs.push_back(X509_get_default_cert_dir());
  dirs.push_back("/etc/ssl/certs");
  for (const auto& f : files) {
    if (::access(f.c_str(), R_OK) != 0) continue;
    int before = store_count(s.get());
    X509_STORE_load_file(s.get(), f.c_str());
    ERR_clear_error();
    if (store_count(s.get()) > before) {
      r.store_kind = "file";
      r.store_path = f;
      r.store_certs = store_count(s.get()) - before;
      return s;
    }
  }
  for (const auto& d : dirs) {
    if (!hashed_dir(d)) continue;
    if (X509_STORE_load_path(s.get(), d.c_str()) == 1) {
      r.store_kind = "dir";
      r.store_path = d;
      return s;
    }
    ERR_clear_error();
  }
  r.store_kind = "none";
  r.notes.push_back(
      "no trust store found on this host (looked at SSL_CERT_FILE/SSL_CERT_DIR, " +
      std::string(X509_get_default_cert_file()) +
      ", /etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt, "
      "/etc/ssl/ca-bundle.pem, /etc/ssl/cert.pem and /etc/ssl/certs): nothing can verify; "
      "install ca-certificates or pass --ca-file");
  return s;
}

int collect_verify_errors(int ok, X509_STORE_CTX* ctx) {
  if (!ok) {
    auto* errs = static_cast<std::vector<TlsVerifyError>*>(X509_STORE_CTX_get_app_data(ctx));
    int code = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    bool dup = std::any_of(errs->begin(), errs->end(), [&](const TlsVerifyError& e) {
      return e.code == code && e.depth == depth;
    });
    if (!dup) errs->push_back({depth, code, X509_verify_cert_error_string(code)});
  }
  return 1;  // go on: we want every error, and the handshake is over anyway
}

void verify_chain(const TlsArgs& o, SSL* ssl, TlsResult& r) {
  X509* leaf = SSL_get0_peer_certificate(ssl);
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl);
  StorePtr store = load_store(o, r);
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!leaf || !store || !ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, sent) != 1) {
    r.verify_errors.push_back({0, 0, "could not set up the verification: " + openssl_errors()});
    return;
  }
  X509_STORE_CTX_set_default(ctx.get(), "ssl_server");
  X509_STORE_CTX_set_app_data(ctx.get(), &r.verify_errors);
  X509_STORE_CTX_set_verify_cb(ctx.get(), collect_verify_errors);
  int rc = X509_verify_cert(ctx.get());
  if (rc <= 0 && r.verify_errors.empty()) {
    int code = X509_STORE_CTX_get_error(ctx.get());
    r.verify_errors.push_back(
        {X509_STORE_CTX_get_error_depth(ctx.get()), code, X509_verify_cert_error_string(code)});
  }
  ERR_clear_error();
  r.verified = rc == 1 && r.verify_errors.empty();
  if (r.verified)
    if (STACK_OF(X509)* ch = X509_STORE_CTX_get0_chain(ctx.get()))
      for (int i = 0; i < sk_X509_num(ch); ++i)
        r.trusted_chain.push_back(name_text(X509_get_subject_name(sk_X509_value(ch, i))));
}

void check_hostname(const TlsArgs& o, X509* leaf, TlsResult& r) {
  r.hostname_checked = !o.sni.empty() ? o.sni : o.host;
  r.hostname_is_ip = is_ip_address(r.hostname_checked);
  if (!leaf) return;
  if (r.hostname_is_ip) {
    r.hostname_ok = X509_check_ip_asc(leaf, r.hostname_checked.c_str(), 0) == 1;
    if (r.hostname_ok) r.hostname_matched = r.hostname_checked;
  } else {
    char* peer = nullptr;
    r.hostname_ok =
        X509_check_host(leaf, r.hostname_checked.c_str(), r.hostname_checked.size(), 0, &peer) == 1;
    if (peer) r.hostname_matched = tls_utf8_safe(peer);
    OPENSSL_free(peer);
  }
  ERR_clear_error();
  if (r.hostname_ok && !r.chain.empty() && r.chain[0].dns_names.empty() &&
      r.chain[0].ip_addresses.empty())
    r.notes.push_back(
        "the name matched only the subject CN: the certificate has no subjectAltName, which "
        "browsers, Go and Python reject");
}

}  // namespace tls_detail

using namespace tls_detail;

Status tls_validate(const TlsArgs& o) {
  if (auto v = validate(o); !v) return v;
  if (!o.ca_pem.empty()) {
    StorePtr s(X509_STORE_new());
    if (add_pem(s.get(), o.ca_pem) == 0)
      return Error{errc::kBadArgs, "the CA file holds no PEM certificate",
                   "give a file with -----BEGIN CERTIFICATE----- blocks"};
  }
  if (!o.ca_file.empty()) {
    if (::access(o.ca_file.c_str(), R_OK) != 0)
      return errno_error("CA file " + o.ca_file, errno, "the path is read on the agent's host");
    StorePtr s(X509_STORE_new());
    X509_STORE_load_file(s.get(), o.ca_file.c_str());
    ERR_clear_error();
    if (store_count(s.get()) == 0)
      return Error{errc::kBadArgs, "the CA file " + o.ca_file + " holds no PEM certificate",
                   "give a file with -----BEGIN CERTIFICATE----- blocks"};
  }
  return ok_status();
}

}  // namespace sonde::net
