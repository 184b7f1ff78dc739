// Direct queries to one nameserver (UDP, then TCP when the reply is
// truncated) and the system resolver.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

#include "sonde/common/io.h"
#include "sonde/net/dns.h"
#include "wait.h"

namespace sonde::net {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53" → sockaddr.
bool parse_server(const std::string& s, sockaddr_storage& ss, socklen_t& len, std::string& err) {
  std::string host = s;
  int port = 53;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) {
      err = "missing `]`";
      return false;
    }
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') {
        err = "expected `:PORT` after `]`";
        return false;
      }
      port = std::atoi(s.c_str() + close + 2);
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    auto c = s.find(':');
    host = s.substr(0, c);
    port = std::atoi(s.c_str() + c + 1);
  }
  if (port <= 0 || port > 65535) {
    err = "port must be 1..65535";
    return false;
  }
  auto pct = host.find('%');  // link-local zone: not supported, drop it
  if (pct != std::string::npos) host.resize(pct);
  std::memset(&ss, 0, sizeof ss);
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
    return true;
  }
  err = "not an IP address";
  return false;
}

// Waits for `events` on fd until deadline, polling cancel every 100 ms.
// 1 ready, 0 timed out, -1 cancelled or error.
bool read_full(int fd, uint8_t* buf, size_t n, long deadline, CancelToken* cancel) {
  size_t got = 0;
  while (got < n) {
    if (wait_fd(fd, POLLIN, deadline, cancel) != 1) return false;
    ssize_t r = ::recv(fd, buf + got, n - got, 0);
    if (r <= 0) {
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      return false;
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

Result<DnsMessage> query_tcp(const sockaddr_storage& ss, socklen_t len,
                             const std::vector<uint8_t>& q, uint16_t id, long timeout_ms,
                             CancelToken* cancel) {
  long deadline = monotonic_ms() + timeout_ms;
  Fd s{::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (s.fd < 0) return errno_error("socket");
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&ss), len) < 0 && errno != EINPROGRESS)
    return errno_error("TCP connect");
  if (wait_fd(s.fd, POLLOUT, deadline, cancel) != 1)
    return Error{errc::kTimeout, "TCP connect timed out", {}};
  int soerr = 0;
  socklen_t sl = sizeof soerr;
  ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
  if (soerr) return errno_error("TCP connect", soerr);
  std::vector<uint8_t> out = {static_cast<uint8_t>(q.size() >> 8), static_cast<uint8_t>(q.size())};
  out.insert(out.end(), q.begin(), q.end());
  if (::send(s.fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size()))
    return errno_error("TCP send");
  uint8_t lb[2];
  if (!read_full(s.fd, lb, 2, deadline, cancel))
    return Error{errc::kTimeout, "no TCP answer in time", {}};
  size_t n = static_cast<size_t>(lb[0] << 8 | lb[1]);
  std::vector<uint8_t> buf(n);
  if (!read_full(s.fd, buf.data(), n, deadline, cancel))
    return Error{errc::kTimeout, "TCP answer cut off or late", {}};
  auto m = dns_decode(buf.data(), buf.size());
  if (m && m->id != id) return Error{errc::kProtocol, "TCP answer with the wrong id", {}};
  return m;
}

}  // namespace

ServerAnswer dns_query_server(const std::string& server, const std::string& name, uint16_t type,
                              long timeout_ms, CancelToken* cancel) {
  ServerAnswer a;
  a.server = server;
  long t0 = monotonic_ms();
  auto finish = [&](std::string err) {
    a.error = std::move(err);
    a.ms = monotonic_ms() - t0;
    return a;
  };
  sockaddr_storage ss;
  socklen_t len = 0;
  std::string perr;
  if (!parse_server(server, ss, len, perr)) return finish("bad nameserver address: " + perr);
  std::random_device rd;
  uint16_t id = static_cast<uint16_t>(rd());
  auto q = dns_encode_query(id, name, type);
  if (!q) return finish(q.error().message);

  Fd s{::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (s.fd < 0) return finish(errno_error("socket").describe());
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&ss), len) < 0)
    return finish(errno_error("connect").describe());
  if (::send(s.fd, q->data(), q->size(), 0) < 0) return finish(errno_error("send").describe());
  long deadline = t0 + timeout_ms;
  Result<DnsMessage> m = Error{errc::kTimeout, "", {}};
  for (;;) {
    int w = wait_fd(s.fd, POLLIN, deadline, cancel);
    if (w == 0) return finish(fmt::format("no answer within {} ms", timeout_ms));
    if (w < 0) return finish(cancel && cancel->cancelled() ? "cancelled" : "poll failed");
    uint8_t buf[65536];
    ssize_t r = ::recv(s.fd, buf, sizeof buf, 0);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ECONNREFUSED) return finish("port unreachable (nothing listens there)");
      return finish(errno_error("recv").describe());
    }
    m = dns_decode(buf, static_cast<size_t>(r));
    if (m && (m->id != id || !m->response)) continue;  // not ours: keep waiting
    break;
  }
  if (!m) return finish(m.error().message);
  if (m->truncated) {
    a.truncated_retried = true;
    auto t = query_tcp(ss, len, *q, id, timeout_ms, cancel);
    if (!t) return finish("answer truncated over UDP; TCP retry failed: " + t.error().describe());
    m = std::move(t);
  }
  a.rcode = dns_rcode_name(m->rcode);
  a.answers = m->answers;
  return finish("");
}

SystemAnswer dns_system_resolve(const std::string& name) {
  SystemAnswer a;
  long t0 = monotonic_ms();
  unsigned char b[16];
  bool v4 = inet_pton(AF_INET, name.c_str(), b) == 1;
  if (v4 || inet_pton(AF_INET6, name.c_str(), b) == 1) {
    sockaddr_storage ss{};
    socklen_t len;
    if (v4) {
      auto* s = reinterpret_cast<sockaddr_in*>(&ss);
      s->sin_family = AF_INET;
      std::memcpy(&s->sin_addr, b, 4);
      len = sizeof *s;
    } else {
      auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
      s->sin6_family = AF_INET6;
      std::memcpy(&s->sin6_addr, b, 16);
      len = sizeof *s;
    }
    char host[NI_MAXHOST];
    int rc = ::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, nullptr, 0,
                           NI_NAMEREQD);
    if (rc != 0)
      a.error = gai_strerror(rc);
    else
      a.addresses.push_back(host);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
      a.error = rc == EAI_SYSTEM ? errno_error("getaddrinfo").describe() : gai_strerror(rc);
    } else {
      for (auto* p = res; p; p = p->ai_next) {
        char buf[INET6_ADDRSTRLEN];
        const void* src =
            p->ai_family == AF_INET
                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr)
                : &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr;
        if (inet_ntop(p->ai_family, src, buf, sizeof buf) &&
            std::find(a.addresses.begin(), a.addresses.end(), buf) == a.addresses.end())
          a.addresses.push_back(buf);
      }
      ::freeaddrinfo(res);
    }
  }
  a.ms = monotonic_ms() - t0;
  return a;
}

json to_json(const ServerAnswer& a) {
  json ans = json::array();
  for (const auto& r : a.answers)
    ans.push_back(
        {{"name", r.name}, {"type", dns_type_name(r.type)}, {"ttl", r.ttl}, {"data", r.data}});
  return {{"server", a.server}, {"rcode", a.rcode}, {"answers", ans},
          {"ms", a.ms},         {"error", a.error}, {"truncated_retried", a.truncated_retried}};
}

json to_json(const SystemAnswer& a) {
  return {{"addresses", a.addresses}, {"error", a.error}, {"ms", a.ms}};
}

}  // namespace sonde::net
