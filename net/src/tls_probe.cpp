// The TLS probe: connect, listen for a server that talks first, handshake,
// then read the chain, verify it against a store found at run time and check
// the name. OpenSSL verifies nothing during the handshake (SSL_VERIFY_NONE):
// a bad certificate is a finding, and we verify afterwards with our own
// callback so that every error of the chain is seen, not only the first.
#include "sonde/net/tls.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/net/address.h"
#include "tls_internal.h"
#include "wait.h"

namespace sonde::net {
using namespace tls_detail;
namespace {

struct Capture {
  std::string bytes;  // the first bytes the peer sent, as OpenSSL read them
  std::string alert;  // the alert the peer sent, by name
  int alert_code = -1;
  bool cert_requested = false;
};

long record_reads(BIO* b, int oper, const char* argp, size_t len, int, long, int ret,
                  size_t* processed) {
  if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed) {
    auto* cap = reinterpret_cast<Capture*>(BIO_get_callback_arg(b));
    size_t n = std::min(*processed, len);
    if (cap && cap->bytes.size() < 1024)
      cap->bytes.append(argp, std::min(n, 1024 - cap->bytes.size()));
  }
  return ret;
}

// OpenSSL 3.0 names the alerts up to TLS 1.2; TLS 1.3 added a few (RFC 8446 6.2).
std::string alert_name(int ret) {
  switch (ret & 0xff) {
    case 109:
      return "missing extension";
    case 110:
      return "unsupported extension";
    case 113:
      return "bad certificate status response";
    case 115:
      return "unknown PSK identity";
    case 116:
      return "certificate required";
    case 120:
      return "no application protocol";
  }
  std::string n = SSL_alert_desc_string_long(ret);
  return n == "unknown" ? fmt::format("unknown alert {}", ret & 0xff) : n;
}

void info_cb(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) && (where & SSL_CB_READ)) {
    auto* cap = static_cast<Capture*>(SSL_get_app_data(ssl));
    if (cap && cap->alert.empty()) {
      cap->alert = alert_name(ret);
      cap->alert_code = ret & 0xff;
    }
  }
}

int client_cert_cb(SSL* ssl, X509**, EVP_PKEY**) {
  if (auto* cap = static_cast<Capture*>(SSL_get_app_data(ssl))) cap->cert_requested = true;
  return 0;  // we have none: go on without
}

// 1 ready, 0 timed out, -1 cancelled, -2 poll failed.
// Reads what the peer sends until a newline, max bytes or the deadline.
void read_more(int fd, std::string& buf, size_t max, long deadline, CancelToken* cancel) {
  while (buf.size() < max && buf.find('\n') == std::string::npos) {
    if (wait_fd(fd, POLLIN, deadline, cancel) != 1) return;
    char tmp[512];
    ssize_t n = ::recv(fd, tmp, std::min(sizeof tmp, max - buf.size()), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return;
    buf.append(tmp, static_cast<size_t>(n));
  }
}

bool looks_like_tls(const std::string& b) {
  if (b.empty()) return true;
  auto t = static_cast<unsigned char>(b[0]);
  return t >= 0x14 && t <= 0x18 && (b.size() < 2 || b[1] == 0x03);
}

std::string address_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  const void* src =
      sa->sa_family == AF_INET
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr)
          : &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
  inet_ntop(sa->sa_family, src, buf, sizeof buf);
  return buf;
}

std::string errno_kind(int e) {
  switch (e) {
    case ECONNREFUSED:
      return "refused";
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case ENETDOWN:
      return "unreachable";
    case ETIMEDOUT:
      return "timeout";
    case ECONNRESET:
    case EPIPE:
      return "reset";
    default:
      return "other";
  }
}

void set_banner(TlsResult& r, const std::string& bytes) {
  r.banner_seen = true;
  r.banner_bytes = bytes.size();
  r.banner_text = tls_banner_line(bytes);
  r.banner_hex = hex(reinterpret_cast<const unsigned char*>(bytes.data()),
                     std::min<size_t>(bytes.size(), 32), " ");
  r.banner_protocol = tls_guess_protocol(bytes);
}

void hint_for_protocol(TlsResult& r) {
  const std::string& p = r.banner_protocol;
  if (p == "smtp")
    r.hint =
        "an SMTP server: TLS starts after STARTTLS there (openssl s_client -starttls smtp), "
        "or use port 465 for implicit TLS";
  else if (p == "ftp")
    r.hint =
        "an FTP server: TLS starts after AUTH TLS (openssl s_client -starttls ftp), or use 990";
  else if (p == "imap" || p == "pop3")
    r.hint = "a plaintext " + p + " server: TLS starts after STARTTLS/STLS, or use " +
             (p == "imap" ? "993" : "995");
  else if (p == "ssh")
    r.hint = "an SSH server listens on this port: check the port number";
  else if (p == "http")
    r.hint = "a plain HTTP server listens on this port: use http://, or the TLS port (often 443)";
  else
    r.hint = "this port speaks another protocol: check the port number";
}

void finish_summary(TlsResult& r) {
  std::string where = host_port(r.host, r.port);
  if (r.outcome == "ok" || r.outcome == "verify_failed") {
    std::string s = where + " " + r.version + " " + r.cipher;
    if (!r.alpn.empty()) s += " ALPN " + r.alpn;
    if (!r.chain.empty()) {
      const TlsCert& l = r.chain[0];
      s += "; " + (l.subject_cn.empty() ? l.subject : "CN=" + l.subject_cn);
      s += l.days_left < 0 ? fmt::format(" expired {} days ago", -l.days_left)
                           : fmt::format(" {} days left", l.days_left);
    }
    if (r.verified)
      s += "; verified (" +
           (r.store_kind == "ca_pem" ? std::string("given CA")
            : r.store_path.empty()   ? r.store_kind
                                     : r.store_path) +
           ")";
    else
      s += "; NOT verified: " +
           (r.verify_errors.empty() ? std::string("no certificate") : r.verify_errors[0].reason);
    s += r.hostname_ok ? "; hostname " + r.hostname_checked + " ok"
                       : "; hostname " + r.hostname_checked + " does NOT match";
    r.summary = s;
  } else if (r.outcome == "not_tls") {
    r.summary = where + " is not TLS: " + r.error;
  } else {
    r.summary = where + " " + r.error;
  }
}

// OpenSSL writes to the socket with write(): a peer that has gone raises
// SIGPIPE, which kills a process that has not ignored it (the agent does;
// tests and other callers may not). Block it in this thread for the probe and
// swallow one that arrived meanwhile.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

}  // namespace

std::string tls_banner_line(const std::string& bytes, size_t max_chars) {
  std::string out;
  for (char ch : bytes) {
    if (ch == '\r' || ch == '\n') {
      if (!out.empty()) break;
      continue;
    }
    auto c = static_cast<unsigned char>(ch);
    out += (c >= 0x20 && c < 0x7f) ? ch : '.';
    if (out.size() >= max_chars) break;
  }
  return out;
}

std::string tls_guess_protocol(const std::string& b) {
  auto starts = [&](const char* p) { return b.rfind(p, 0) == 0; };
  if (starts("SSH-")) return "ssh";
  if (starts("HTTP/")) return "http";
  if (starts("+OK")) return "pop3";
  if (starts("* OK") || starts("* PREAUTH")) return "imap";
  if (starts("220")) {
    std::string line = tls_banner_line(b);
    for (auto& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (line.find("FTP") != std::string::npos) return "ftp";
    return "smtp";  // 220 is SMTP's greeting and FTP's; SMTP is the one met on TLS ports
  }
  if (starts("RFB ")) return "vnc";
  // MySQL's greeting: 3-byte length, sequence 0, protocol 10.
  if (b.size() > 5 && b[3] == 0 && b[4] == 10) return "mysql";
  return "";
}

TlsResult tls_probe(const TlsArgs& o, CancelToken* cancel) {
  SigpipeGuard no_sigpipe;
  TlsResult r;
  long t0 = monotonic_ms();
  r.host = o.host;
  r.port = o.port;
  r.alpn_offered = o.alpn;
  if (!o.no_sni) r.sni = !o.sni.empty() ? o.sni : (is_ip_address(o.host) ? "" : o.host);
  auto fail = [&](std::string stage, std::string outcome, std::string kind, std::string error) {
    r.stage = std::move(stage);
    r.outcome = std::move(outcome);
    r.failure_kind = std::move(kind);
    r.error = std::move(error);
    r.total_ms = monotonic_ms() - t0;
    finish_summary(r);
    return r;
  };
  if (auto v = tls_validate(o); !v)
    return fail("resolve", "resolve_failed", "other", "bad options: " + v.error().message);

  // Resolve. getaddrinfo cannot be interrupted; resolv.conf's timeouts bound it.
  r.stage = "resolve";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // No AI_ADDRCONFIG: it hides ::1 for "localhost" on hosts without global
  // IPv6, and a probe wants every address (unreachable ones fail fast).
  addrinfo* res = nullptr;
  std::string port_s = std::to_string(o.port);
  int gai = ::getaddrinfo(o.host.c_str(), port_s.c_str(), &hints, &res);
  if (gai != 0) {
    r.hint = "check the name with `sonde dns " + o.host + "`";
    return fail("resolve", "resolve_failed", "resolve",
                "cannot resolve " + o.host + ": " +
                    (gai == EAI_SYSTEM ? std::string(std::strerror(errno)) : gai_strerror(gai)));
  }
  std::vector<std::pair<sockaddr_storage, socklen_t>> addrs;
  for (addrinfo* p = res; p && addrs.size() < 8; p = p->ai_next) {
    std::pair<sockaddr_storage, socklen_t> a{};
    std::memcpy(&a.first, p->ai_addr, p->ai_addrlen);
    a.second = p->ai_addrlen;
    std::string txt = address_text(p->ai_addr);
    if (std::find(r.addresses.begin(), r.addresses.end(), txt) != r.addresses.end()) continue;
    r.addresses.push_back(txt);
    addrs.push_back(a);
  }
  ::freeaddrinfo(res);

  // Connect: one address after the other, all within timeout_ms.
  r.stage = "connect";
  long tc = monotonic_ms();
  long deadline = tc + o.timeout_ms;
  ScopedFd sock;
  std::string last_kind = "other";
  for (size_t i = 0; i < addrs.size() && !sock.valid(); ++i) {
    const auto& [ss, len] = addrs[i];
    const std::string& at = r.addresses[i];
    ScopedFd s(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s.valid()) {
      r.attempts.push_back({at, std::strerror(errno)});
      continue;
    }
    int rc = ::connect(s.get(), reinterpret_cast<const sockaddr*>(&ss), len);
    int err = rc == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      // Each address gets an equal share of what is left, so one that drops
      // packets does not starve the others (no happy eyeballs: in order).
      long start = monotonic_ms();
      long share = (deadline - start) / static_cast<long>(addrs.size() - i);
      int w = wait_fd(s.get(), POLLOUT, start + std::max(share, 1L), cancel);
      if (w == -1) return fail("connect", "connect_failed", "cancelled", "cancelled");
      if (w == 0) {
        last_kind = "timeout";
        r.attempts.push_back({at, fmt::format("no answer within {} ms", monotonic_ms() - start)});
        continue;
      }
      socklen_t sl = sizeof err;
      ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &sl);
    }
    if (err != 0) {
      last_kind = errno_kind(err);
      r.attempts.push_back({at, err == ECONNREFUSED ? "connection refused (nothing listens there)"
                                                    : std::strerror(err)});
      continue;
    }
    sock = std::move(s);
    r.address = at;
  }
  r.connect_ms = monotonic_ms() - tc;
  if (!sock.valid()) {
    std::string why;
    for (const auto& [a, e] : r.attempts) why += (why.empty() ? "" : "; ") + a + ": " + e;
    if (last_kind == "refused")
      r.hint = "nothing listens on port " + port_s +
               " there (or a firewall rejects): check "
               "the port, and `sonde connect` from both ends";
    else if (last_kind == "timeout")
      r.hint =
          "packets are dropped on the way (a firewall DROP rule?) or the host is down: "
          "`sonde connect` from both ends";
    return fail("connect", "connect_failed", last_kind,
                "connect failed: " + (why.empty() ? "no address to try" : why));
  }

  // Listen first: SSH, SMTP, FTP, POP3, IMAP and MySQL servers talk before
  // the client does, which a TLS server never does.
  r.stage = "banner";
  if (o.banner_wait_ms > 0) {
    int w = wait_fd(sock.get(), POLLIN, monotonic_ms() + o.banner_wait_ms, cancel);
    if (w == -1) return fail("banner", "not_tls", "cancelled", "cancelled");
    if (w == 1) {
      std::string buf;
      char tmp[1024];
      ssize_t n = ::recv(sock.get(), tmp, sizeof tmp, 0);
      if (n == 0) {
        r.hint =
            "the server accepts and closes at once: overloaded, an allow-list (tcpwrappers, "
            "a proxy's ACL), or the service behind a load balancer is down";
        return fail("banner", "handshake_failed", "closed",
                    "the server closed the connection before we sent anything");
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        int e = errno;
        return fail(
            "banner", "handshake_failed", errno_kind(e),
            std::string("the connection failed before we sent anything: ") + std::strerror(e));
      }
      if (n > 0) {
        buf.assign(tmp, static_cast<size_t>(n));
        read_more(sock.get(), buf, 1024, monotonic_ms() + 200, cancel);
        set_banner(r, buf);
        r.server_first = true;
        hint_for_protocol(r);
        return fail(
            "banner", "not_tls", "plaintext",
            "the server spoke first" +
                (r.banner_protocol.empty() ? std::string() : " (" + r.banner_protocol + ")") +
                ": \"" + r.banner_text + "\"");
      }
    }
  }

  // The handshake.
  r.stage = "handshake";
  ERR_clear_error();
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx)
    return fail("handshake", "handshake_failed", "other", "SSL_CTX_new: " + openssl_errors());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  int minv = version_number(o.min_version), maxv = version_number(o.max_version);
  if ((minv > 0 && minv < TLS1_2_VERSION) || (maxv > 0 && maxv < TLS1_2_VERSION)) {
    // OpenSSL 3 refuses TLS 1.0/1.1 at the default security level.
    SSL_CTX_set_security_level(ctx.get(), 0);
    r.notes.push_back("TLS 1.0/1.1 asked for: security level 0 (legacy ciphers allowed)");
  }
  if (minv > 0) SSL_CTX_set_min_proto_version(ctx.get(), minv);
  if (maxv > 0) SSL_CTX_set_max_proto_version(ctx.get(), maxv);
  SSL_CTX_set_client_cert_cb(ctx.get(), client_cert_cb);
  SSL_CTX_set_info_callback(ctx.get(), info_cb);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  // Before ssl: the callbacks point at it until SSL_free.
  Capture cap;
  SslPtr ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), sock.get()) != 1)
    return fail("handshake", "handshake_failed", "other", "SSL_new: " + openssl_errors());
  SSL_set_app_data(ssl.get(), &cap);
  BIO* rbio = SSL_get_rbio(ssl.get());
  BIO_set_callback_arg(rbio, reinterpret_cast<char*>(&cap));
  BIO_set_callback_ex(rbio, record_reads);
  if (!r.sni.empty()) SSL_set_tlsext_host_name(ssl.get(), r.sni.c_str());
  if (!o.alpn.empty()) {
    std::string wire;
    for (const auto& a : o.alpn) wire += static_cast<char>(a.size()) + a;
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  SSL_set_tlsext_status_type(ssl.get(), TLSEXT_STATUSTYPE_ocsp);

  long th = monotonic_ms();
  deadline = th + o.timeout_ms;
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int rc = SSL_connect(ssl.get());
    int saved_errno = errno;
    if (rc == 1) break;
    int err = SSL_get_error(ssl.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      int w = wait_fd(sock.get(), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, cancel);
      if (w == 1) continue;
      r.handshake_ms = monotonic_ms() - th;
      if (w == -1) return fail("handshake", "handshake_failed", "cancelled", "cancelled");
      if (!cap.bytes.empty() && !looks_like_tls(cap.bytes)) {
        set_banner(r, cap.bytes);
        hint_for_protocol(r);
        return fail(
            "handshake", "not_tls", "plaintext",
            "the server answered in plaintext and then went quiet: \"" + r.banner_text + "\"");
      }
      r.hint = cap.bytes.empty()
                   ? "the server reads our ClientHello and says nothing: it may wait for another "
                     "protocol (plain HTTP?), or a middlebox swallows TLS"
                   : "the server stopped half way through the handshake";
      return fail("handshake", "handshake_failed", "timeout",
                  fmt::format("no TLS answer within {} ms ({} bytes received)", o.timeout_ms,
                              cap.bytes.size()));
    }
    r.handshake_ms = monotonic_ms() - th;
    std::string ossl = openssl_errors();
    // What did the peer send? A plaintext answer to our ClientHello is the
    // most useful thing to show: read the rest of its first line.
    if (!cap.bytes.empty() && !looks_like_tls(cap.bytes)) {
      std::string bytes = cap.bytes;
      read_more(sock.get(), bytes, 1024, monotonic_ms() + 300, cancel);
      set_banner(r, bytes);
      hint_for_protocol(r);
      return fail("handshake", "not_tls", "plaintext",
                  "the server answered our ClientHello in plaintext" +
                      (r.banner_protocol.empty() ? std::string() : " (" + r.banner_protocol + ")") +
                      ": \"" + r.banner_text + "\"");
    }
    if (!cap.alert.empty()) {
      r.alert = cap.alert;
      bool version = cap.alert_code == SSL_AD_PROTOCOL_VERSION;
      if (version)
        r.hint =
            "no TLS version in common: try --tls-max/--tls-min, and check the server's "
            "minimum (openssl s_client -tls1_2 / -tls1_3)";
      else if (cap.alert_code == SSL_AD_UNRECOGNIZED_NAME)
        r.hint = "the server does not serve this SNI name: check --sni";
      else if (cap.cert_requested && (cap.alert_code == SSL_AD_HANDSHAKE_FAILURE ||
                                      cap.alert_code == SSL_AD_CERTIFICATE_REQUIRED))
        r.hint =
            "the server asked for a client certificate and requires one (mutual TLS): "
            "sonde does not send one; test the client's with openssl s_client -cert -key";
      else if (cap.alert_code == SSL_AD_HANDSHAKE_FAILURE)
        r.hint =
            "no cipher or signature algorithm in common, or the server wants SNI or a "
            "client certificate";
      else if (cap.alert_code == SSL_AD_NO_APPLICATION_PROTOCOL)
        r.hint = "the server speaks none of the ALPN protocols offered: change --alpn";
      else if (cap.alert_code == SSL_AD_CERTIFICATE_REQUIRED)
        r.hint = "the server wants a client certificate (mutual TLS)";
      if ((minv > 0 || maxv > 0) && !cap.cert_requested)
        r.hint = fmt::format(
            "the TLS versions offered were limited ({}..{}): the server may "
            "not speak those; try without --tls-min/--tls-max",
            o.min_version.empty() ? "any" : o.min_version,
            o.max_version.empty() ? "any" : o.max_version);
      else if (r.hint.empty())
        r.hint = "the server gave up on the handshake: its log says why";
      return fail("handshake", "handshake_failed", version ? "version" : "alert",
                  "the server sent the TLS alert \"" + cap.alert + "\"");
    }
    if (ossl.find("unsupported protocol") != std::string::npos ||
        ossl.find("no protocols available") != std::string::npos ||
        ossl.find("version too low") != std::string::npos ||
        ossl.find("wrong ssl version") != std::string::npos) {
      r.hint = "no TLS version in common: check --tls-min/--tls-max against the server's";
      return fail("handshake", "handshake_failed", "version", "protocol version mismatch: " + ossl);
    }
    bool eof = err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && saved_errno == 0) ||
               ossl.find("unexpected eof") != std::string::npos;
    if (err == SSL_ERROR_SYSCALL && (saved_errno == ECONNRESET || saved_errno == EPIPE)) {
      r.hint =
          "the server (or a firewall, an IPS) resets on our ClientHello: TLS is not "
          "allowed on this path, or the server rejects the SNI";
      return fail("handshake", "handshake_failed", "reset",
                  fmt::format("the connection was reset during the handshake ({} bytes "
                              "received)",
                              cap.bytes.size()));
    }
    if (eof) {
      r.hint = cap.bytes.empty()
                   ? "the server closes on our ClientHello without a word: not a TLS port, or "
                     "it rejects the SNI or the offered versions"
                   : "the server closed half way through the handshake";
      return fail("handshake", "handshake_failed", "closed",
                  fmt::format("the server closed the connection during the handshake ({} "
                              "bytes received)",
                              cap.bytes.size()));
    }
    return fail(
        "handshake", "handshake_failed", "other",
        "TLS handshake failed: " + (ossl.empty() ? std::string(std::strerror(saved_errno)) : ossl));
  }
  r.handshake_ms = monotonic_ms() - th;
  r.tls = true;
  r.version = SSL_get_version(ssl.get());
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl.get())) {
    r.cipher = SSL_CIPHER_get_name(c);
    if (const char* std_name = SSL_CIPHER_standard_name(c)) r.cipher_iana = std_name;
    r.cipher_bits = SSL_CIPHER_get_bits(c, nullptr);
  }
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl.get(), &alpn, &alpn_len);
  if (alpn) r.alpn = tls_utf8_safe(std::string(reinterpret_cast<const char*>(alpn), alpn_len));
  EVP_PKEY* tmp = nullptr;
  if (SSL_get_peer_tmp_key(ssl.get(), &tmp) == 1 && tmp) {
    char group[80] = {};
    size_t glen = 0;
    if (EVP_PKEY_get_group_name(tmp, group, sizeof group, &glen) == 1)
      r.key_exchange = group;
    else
      r.key_exchange =
          OBJ_nid2sn(EVP_PKEY_get_base_id(tmp)) ? OBJ_nid2sn(EVP_PKEY_get_base_id(tmp)) : "";
    EVP_PKEY_free(tmp);
  }
  const unsigned char* ocsp = nullptr;
  r.ocsp_stapled = SSL_get_tlsext_status_ocsp_resp(ssl.get(), &ocsp) > 0 && ocsp;
  r.client_cert_requested = cap.cert_requested;
  if (cap.cert_requested)
    r.notes.push_back("the server asked for a client certificate (mutual TLS); none was sent");
  if (STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl.get()))
    for (int i = 0; i < sk_X509_num(sent) && i < 16; ++i)
      r.chain.push_back(describe_cert(sk_X509_value(sent, i), i));

  if (r.chain.empty()) {
    r.verify_errors.push_back({0, 0, "the server sent no certificate"});
  } else {
    verify_chain(o, ssl.get(), r);
  }
  check_hostname(o, SSL_get0_peer_certificate(ssl.get()), r);
  if (o.no_sni && !r.hostname_ok)
    r.notes.push_back("no SNI was sent: the server may have shown its default certificate");
  // TLS 1.3 ends the client's handshake before the server has looked at our
  // (absent) certificate: a server that requires one says so afterwards,
  // with an alert. Only worth the wait when it asked for one.
  bool rejected_after = false;
  if (cap.cert_requested && SSL_version(ssl.get()) == TLS1_3_VERSION) {
    long until = monotonic_ms() + std::min(o.timeout_ms, 1000L);
    char buf[512];
    while (monotonic_ms() < until) {  // bounded even if the server streams data
      ERR_clear_error();
      int n = SSL_read(ssl.get(), buf, sizeof buf);
      if (n > 0) continue;
      if (SSL_get_error(ssl.get(), n) == SSL_ERROR_WANT_READ &&
          wait_fd(sock.get(), POLLIN, until, cancel) == 1)
        continue;
      break;
    }
    rejected_after = !cap.alert.empty();
  }
  // Close politely; nothing waits for the peer's answer.
  SSL_shutdown(ssl.get());
  ERR_clear_error();

  r.stage = "done";
  r.ok = r.verified && r.hostname_ok;
  r.outcome = r.ok ? "ok" : "verify_failed";
  if (!r.verified && !r.verify_errors.empty()) {
    const auto& e = r.verify_errors[0];
    r.error = fmt::format("certificate verification failed: {} (depth {})", e.reason, e.depth);
    if (e.code == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
        e.code == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
      r.hint = r.store_kind == "ca_pem" || r.store_kind == "ca_file"
                   ? "the given CA did not sign this certificate: check --ca-file"
                   : "a self-signed certificate: pass its CA with --ca-file, or deploy one from "
                     "a trusted CA";
    else if (e.code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
      r.hint = r.store_kind == "none"
                   ? "no trust store on this host: install ca-certificates or pass --ca-file"
                   : "the server does not send its intermediate certificate(s), or the CA is "
                     "private: fix the server's chain, or pass the CA with --ca-file";
    else if (e.code == X509_V_ERR_CERT_HAS_EXPIRED)
      r.hint = "renew the certificate (and check the clocks of both ends)";
    else if (e.code == X509_V_ERR_CERT_NOT_YET_VALID)
      r.hint = "the certificate starts in the future: check this host's clock";
  }
  if (!r.hostname_ok) {
    std::vector<std::string> names;
    if (!r.chain.empty()) {
      for (const auto& n : r.chain[0].dns_names) names.push_back("DNS:" + n);
      for (const auto& n : r.chain[0].ip_addresses) names.push_back("IP:" + n);
      if (names.empty() && !r.chain[0].subject_cn.empty())
        names.push_back("CN=" + r.chain[0].subject_cn);
    }
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    std::string msg = "the certificate is not for " + r.hostname_checked + ": it names " +
                      (list.empty() ? std::string("nothing") : list);
    r.error = r.error.empty() ? msg : r.error + "; " + msg;
    if (r.hint.empty())
      r.hint = r.hostname_is_ip ? "connect by a name the certificate holds (or --sni NAME)"
                                : "connect by a name the certificate holds, or fix the "
                                  "certificate's subjectAltName";
  }
  if (rejected_after) {
    r.ok = false;
    r.outcome = "handshake_failed";
    r.failure_kind = "alert";
    r.alert = cap.alert;
    std::string msg =
        "the server rejected the connection after the handshake with the TLS alert \"" + cap.alert +
        "\"";
    r.error = r.error.empty() ? msg : msg + "; " + r.error;
    r.hint =
        "the server requires a client certificate (mutual TLS), which sonde does not send: "
        "check the client's certificate with openssl s_client -cert FILE -key FILE";
  }
  r.total_ms = monotonic_ms() - t0;
  finish_summary(r);
  return r;
}

}  // namespace sonde::net
