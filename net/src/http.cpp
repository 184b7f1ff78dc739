#include "sonde/net/http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/net/address.h"
#include "wait.h"

namespace sonde::net {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHead = 16 * 1024;
constexpr size_t kMaxBody = 1 << 20;  // counted, not kept

long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// One connection, plain or TLS, over a non-blocking socket.
class Stream {
 public:
  ~Stream() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
  }
  ScopedFd fd;

  std::string start_tls(const std::string& sni, long deadline, CancelToken* cancel) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) return "cannot create a TLS context";
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    ssl_ = SSL_new(ctx_);
    if (!ssl_ || SSL_set_fd(ssl_, fd.get()) != 1) return "cannot create a TLS connection";
    if (!sni.empty()) SSL_set_tlsext_host_name(ssl_, sni.c_str());
    static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_set_alpn_protos(ssl_, kAlpn, sizeof kAlpn);
    for (;;) {
      ERR_clear_error();
      int r = SSL_connect(ssl_);
      if (r == 1) return "";
      int e = SSL_get_error(ssl_, r);
      short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
      if (ev == 0) {
        unsigned long code = ERR_peek_last_error();
        char buf[256] = "the handshake failed";
        if (code) ERR_error_string_n(code, buf, sizeof buf);
        return std::string("TLS handshake failed: ") + buf;
      }
      int w = wait_fd(fd.get(), ev, deadline, cancel);
      if (w == 0) return "TLS handshake timed out";
      if (w < 0) return "cancelled";
    }
  }

  // >0 bytes, 0 EOF, -1 error (err set), -2 timeout, -3 cancelled.
  long read(char* buf, size_t n, long deadline, CancelToken* cancel, std::string* err) {
    for (;;) {
      short ev = POLLIN;
      if (ssl_) {
        ERR_clear_error();
        int r = SSL_read(ssl_, buf, static_cast<int>(n));
        if (r > 0) return r;
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && (errno == 0 || r == 0)) return 0;
        if (e == SSL_ERROR_WANT_WRITE) {
          ev = POLLOUT;
        } else if (e != SSL_ERROR_WANT_READ) {
          *err = e == SSL_ERROR_SYSCALL ? std::strerror(errno) : "TLS read failed";
          return -1;
        }
      } else {
        ssize_t r = ::recv(fd.get(), buf, n, 0);
        if (r >= 0) return r;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          *err = std::strerror(errno);
          return -1;
        }
      }
      int w = wait_fd(fd.get(), ev, deadline, cancel);
      if (w == 0) return -2;
      if (w < 0) return -3;
    }
  }

  std::string write_all(const std::string& data, long deadline, CancelToken* cancel) {
    size_t off = 0;
    while (off < data.size()) {
      short ev = POLLOUT;
      if (ssl_) {
        ERR_clear_error();
        int r = SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off));
        if (r > 0) {
          off += static_cast<size_t>(r);
          continue;
        }
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_WANT_READ)
          ev = POLLIN;
        else if (e != SSL_ERROR_WANT_WRITE)
          return "TLS write failed";
      } else {
        ssize_t r = ::send(fd.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (r > 0) {
          off += static_cast<size_t>(r);
          continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return std::strerror(errno);
      }
      int w = wait_fd(fd.get(), ev, deadline, cancel);
      if (w == 0) return "timed out sending the request";
      if (w < 0) return "cancelled";
    }
    return "";
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

std::string addr_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

}  // namespace

bool parse_http_head(const std::string& head, HttpResult& out) {
  size_t eol = head.find("\r\n");
  std::string line = head.substr(0, eol);
  if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12 || line[8] != ' ') return false;
  std::string code = line.substr(9, 3);
  if (!std::all_of(code.begin(), code.end(), ::isdigit)) return false;
  out.version = line.substr(0, 8);
  out.status = std::stoi(code);
  out.reason = line.size() > 13 ? line.substr(13) : "";
  out.headers.clear();
  size_t pos = eol == std::string::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string h = head.substr(pos, e - pos);
    pos = e + 2;
    if (h.empty()) break;
    size_t colon = h.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(trim(h.substr(0, colon)));
    if (name == "server" || name == "content-type" || name == "content-length" ||
        name == "location" || name == "www-authenticate" || name == "via" || name == "retry-after")
      out.headers[name] = trim(h.substr(colon + 1)).substr(0, 512);
  }
  return true;
}

HttpResult http_probe(const HttpRequest& req, CancelToken* cancel) {
  auto t0 = Clock::now();
  long deadline = monotonic_ms() + std::max(1L, req.timeout_ms);
  HttpResult r;
  r.tls = req.tls;
  r.path = req.path;
  auto fail = [&](const char* stage, const std::string& why) {
    r.stage = stage;
    r.error = why;
    r.total_ms = ms_since(t0);
    r.summary = std::string("HTTP ") + stage + " failed: " + why;
    return r;
  };
  if (req.path.empty() || req.path[0] != '/' ||
      req.path.find_first_of("\r\n ") != std::string::npos)
    return fail("send", "the path must start with '/' and hold no spaces or line breaks");

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  std::string port = std::to_string(req.port);
  int gai = ::getaddrinfo(req.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0 || !res) return fail("resolve", gai_strerror(gai));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, freeaddrinfo);

  Stream s;
  s.fd.reset(::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.fd.valid()) return fail("connect", std::strerror(errno));
  r.address = addr_text(res->ai_addr);
  if (::connect(s.fd.get(), res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS)
    return fail("connect", std::strerror(errno));
  int w = wait_fd(s.fd.get(), POLLOUT, deadline, cancel);
  if (w == 0) return fail("connect", "timed out");
  if (w < 0) return fail("connect", "cancelled");
  int soerr = 0;
  socklen_t len = sizeof soerr;
  ::getsockopt(s.fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &len);
  if (soerr != 0) return fail("connect", std::strerror(soerr));

  if (req.tls) {
    std::string sni = req.sni.empty() && !is_ip_address(req.host) ? req.host : req.sni;
    std::string e = s.start_tls(sni, deadline, cancel);
    if (!e.empty()) return fail("tls", e);
  }
  std::string host = req.host_header;
  if (host.empty()) {
    host = req.host.find(':') != std::string::npos ? "[" + req.host + "]" : req.host;
    if (req.port != (req.tls ? 443 : 80)) host += ":" + port;
  }
  std::string request =
      "GET " + req.path + " HTTP/1.1\r\nHost: " + host +
      "\r\nUser-Agent: sonde-diagnose\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  if (std::string e = s.write_all(request, deadline, cancel); !e.empty()) return fail("send", e);

  std::string head;
  char buf[16384];
  size_t body = 0;
  bool have_head = false;
  long ttfb = -1;
  long content_length = -1;
  for (;;) {
    std::string err;
    long n = s.read(buf, sizeof buf, deadline, cancel, &err);
    if (n == -3) return fail("response", "cancelled");
    if (n == -2) {
      if (!have_head)
        return fail("response", head.empty() ? "no response before the timeout"
                                             : "the response head did not end before the timeout");
      r.body_truncated = true;
      break;
    }
    if (n == -1) {
      if (!have_head) return fail("response", err);
      break;
    }
    if (n == 0) {
      if (!have_head)
        return fail("response", head.empty() ? "the server closed the connection without a response"
                                             : "the server closed the connection mid-head");
      break;
    }
    if (ttfb < 0) ttfb = ms_since(t0);
    if (!have_head) {
      head.append(buf, static_cast<size_t>(n));
      size_t end = head.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (head.size() > kMaxHead) return fail("response", "the response head exceeds 16 KiB");
        continue;
      }
      body = head.size() - (end + 4);
      head.resize(end + 2);
      if (!parse_http_head(head, r)) {
        std::string first = head.substr(0, std::min<size_t>(head.find('\r'), 120));
        return fail("response", "not an HTTP response: \"" + first + "\"");
      }
      have_head = true;
      if (auto cl = r.headers.find("content-length"); cl != r.headers.end()) {
        char* endp = nullptr;
        long v = std::strtol(cl->second.c_str(), &endp, 10);
        if (endp && *endp == '\0' && v >= 0) content_length = v;
      }
    } else {
      body += static_cast<size_t>(n);
    }
    if (content_length >= 0 && body >= static_cast<size_t>(content_length)) break;
    if (body >= kMaxBody) {
      r.body_truncated = true;
      break;
    }
  }
  r.ok = true;
  r.stage = "response";
  r.ttfb_ms = ttfb;
  r.total_ms = ms_since(t0);
  r.body_bytes = body;
  r.summary =
      "HTTP " + std::to_string(r.status) + " " + r.reason + " in " + std::to_string(ttfb) + " ms";
  return r;
}

}  // namespace sonde::net
