// Connection attempts for `sonde connect`. Each attempt is a non-blocking
// connect() polled up to the timeout; the verdict comes from the best source
// there is: the SYN-ACK (open), the socket error with an empty error queue
// (RST: refused), the ICMP error the kernel queued for us (IP_RECVERR /
// IPV6_RECVERR: type, code and the sender), connect()'s own errno for local
// failures, and errno alone only when nothing better was there.
#include "sonde/net/connect.h"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include "ms_text.h"
#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/net/address.h"

namespace sonde::net {
namespace {

double now_ms_f() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double round3(double v) {
  return static_cast<double>(static_cast<long long>(v * 1000 + 0.5)) / 1000;
}

std::string ip_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET)
    return inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf)
               ? buf
               : "";
  if (sa->sa_family == AF_INET6)
    return inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf,
                     sizeof buf)
               ? buf
               : "";
  return "";
}

int sa_port(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  return 0;
}

std::string endpoint_text(const sockaddr* sa) {
  std::string ip = ip_text(sa);
  if (ip.empty()) return "";
  // inet_ntop writes every IPv6 address with a ':' and no IPv4 one.
  return host_port(ip, sa_port(sa));
}

std::string errno_name(int e) {
  const char* n = ::strerrorname_np(e);
  return n ? n : "E" + std::to_string(e);
}

std::string tcp_state_name(int s) {
  static const char* names[] = {"?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
                                "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
                                "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING"};
  if (s > 0 && s < static_cast<int>(sizeof names / sizeof names[0])) return names[s];
  return "state " + std::to_string(s);
}

// The first line of what the peer sent, printable, bounded.
std::string banner_text(const char* p, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && out.size() < 120; ++i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c == '\n' || c == '\r') break;
    if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

// One ICMP error from the socket's error queue, if there is one. The queue
// is drained (bounded); the first ICMP entry wins.
std::optional<IcmpInfo> read_errqueue(int fd, const std::string& self) {
  std::optional<IcmpInfo> found;
  for (int i = 0; i < 8; ++i) {
    char data[64];
    alignas(cmsghdr) char ctl[512];
    iovec iov{data, sizeof data};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    if (::recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      bool v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
      bool v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if (!v4 && !v6) continue;
      if (c->cmsg_len < CMSG_LEN(sizeof(sock_extended_err))) continue;
      sock_extended_err ee;
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      if (found) continue;
      IcmpInfo info;
      info.v6 = ee.ee_origin == SO_EE_ORIGIN_ICMP6;
      info.type = ee.ee_type;
      info.code = ee.ee_code;
      info.kind = icmp_kind(info.v6, info.type, info.code);
      // The offender follows the extended error in the same cmsg.
      size_t have = c->cmsg_len - CMSG_LEN(0);
      if (have >= sizeof(sock_extended_err) + sizeof(sockaddr_in)) {
        sockaddr_storage off{};
        std::memcpy(&off, CMSG_DATA(c) + sizeof(sock_extended_err),
                    std::min(have - sizeof(sock_extended_err), sizeof off));
        if (off.ss_family == AF_INET ||
            (off.ss_family == AF_INET6 && have >= sizeof(sock_extended_err) + sizeof(sockaddr_in6)))
          info.from = ip_text(reinterpret_cast<sockaddr*>(&off));
      }
      info.from_self = !info.from.empty() && info.from == self;
      found = info;
    }
  }
  return found;
}

void hold_connection(int fd, long hold_ms, CancelToken* cancel, HoldResult& h) {
  h.requested_ms = hold_ms;
  double t0 = now_ms_f();
  bool first = true;
  for (;;) {
    long elapsed = static_cast<long>(now_ms_f() - t0);
    if (cancel && cancel->cancelled()) {
      h.outcome = "cancelled";
      h.after_ms = elapsed;
      break;
    }
    long left = hold_ms - elapsed;
    if (left <= 0) {
      h.outcome = "stayed-open";
      h.after_ms = hold_ms;
      break;
    }
    pollfd p{fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min(left, 100L)));
    if (r < 0 && errno != EINTR) {
      h.outcome = "error";
      h.error = std::strerror(errno);
      h.after_ms = elapsed;
      break;
    }
    if (r <= 0) continue;
    // Read what is there: data first (a banner), then EOF or the reset.
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    long at = static_cast<long>(now_ms_f() - t0);
    if (n > 0) {
      if (first) h.banner = banner_text(buf, static_cast<size_t>(n));
      first = false;
      h.bytes_received += n;
      continue;
    }
    if (n == 0) {
      h.outcome = "closed";
      h.after_ms = at;
      break;
    }
    if (errno == EAGAIN || errno == EINTR) {
      if (p.revents & POLLERR) {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr == 0) continue;
        errno = soerr;
      } else {
        continue;
      }
    }
    h.outcome = errno == ECONNRESET ? "reset" : "error";
    if (errno != ECONNRESET) h.error = std::strerror(errno);
    h.after_ms = at;
    break;
  }
  tcp_info ti{};
  socklen_t tl = sizeof ti;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0) {
    h.tcp_state = tcp_state_name(ti.tcpi_state);
    h.rtt_us = ti.tcpi_rtt;
  }
}

std::string family_name(int f) {
  return f == AF_INET ? "ipv4" : f == AF_INET6 ? "ipv6" : "";
}

// After a timeout: did the next hop answer ARP/NDP at all? A host that is
// down on the local link looks like a DROP from TCP's side until the kernel
// gives up on the neighbour (about 3 s), which a shorter --timeout never sees.
void check_neighbour(Attempt& a, const std::vector<RouteInfo>& routes) {
  for (const auto& r : routes) {
    if (r.destination != a.address || !r.error.empty() || r.oif <= 0) continue;
    if (r.type != "unicast") return;
    std::string hop = r.gateway.empty() ? a.address : r.gateway;
    auto st = neighbour_state(hop, r.oif);
    if (!st) return;
    a.neighbour = hop;
    a.neighbour_state = *st;
    std::string who = r.gateway.empty() ? "the host" : "the gateway " + hop;
    if (*st == "INCOMPLETE" || *st == "FAILED")
      a.detail = fmt::format(
          "no answer within {:.0f} ms, and no ARP/neighbour answer from {} "
          "({}): {} is down or absent, not (only) a firewall",
          a.ms, hop, *st, who);
    else if (*st == "REACHABLE" || *st == "STALE" || *st == "DELAY" || *st == "PROBE" ||
             *st == "PERMANENT")
      a.detail += fmt::format(" ({} answers ARP/neighbour discovery: {})", who, *st);
    return;
  }
}

}  // namespace

std::string icmp_kind(bool v6, int type, int code) {
  if (!v6 && type == 3) {
    static const char* k[] = {"net-unreachable",
                              "host-unreachable",
                              "protocol-unreachable",
                              "port-unreachable",
                              "fragmentation-needed",
                              "source-route-failed",
                              "net-unknown",
                              "host-unknown",
                              "source-host-isolated",
                              "net-prohibited",
                              "host-prohibited",
                              "net-unreachable-for-tos",
                              "host-unreachable-for-tos",
                              "admin-prohibited",
                              "host-precedence-violation",
                              "precedence-cutoff"};
    if (code >= 0 && code < 16) return k[code];
  }
  if (!v6 && type == 11) return code == 0 ? "ttl-exceeded" : "reassembly-time-exceeded";
  if (v6 && type == 1) {
    static const char* k[] = {"no-route",         "admin-prohibited", "beyond-scope",
                              "host-unreachable", "port-unreachable", "source-policy-failed",
                              "reject-route"};
    if (code >= 0 && code < 7) return k[code];
  }
  if (v6 && type == 2) return "packet-too-big";
  if (v6 && type == 3) return "hop-limit-exceeded";
  return fmt::format("type {} code {}", type, code);
}

std::string icmp_describe(const IcmpInfo& i) {
  std::string k = i.kind;
  std::replace(k.begin(), k.end(), '-', ' ');
  if (i.type < 0) return k + " (errno only, no ICMP details)";
  return fmt::format("{} ({} type {} code {})", k, i.v6 ? "icmpv6" : "icmp", i.type, i.code);
}

Status validate(const ConnectOptions& o) {
  if (o.host.empty() || o.host.size() > 255)
    return Error{errc::kBadArgs, "the host must be 1..255 characters", "sonde connect HOST:PORT"};
  if (o.port < 1 || o.port > 65535)
    return Error{errc::kBadArgs, fmt::format("port {} is out of range (1..65535)", o.port),
                 "sonde connect HOST:PORT"};
  if (o.count < 1 || o.count > kMaxCount)
    return Error{errc::kBadArgs, fmt::format("--count must be 1..{}", kMaxCount), "e.g. --count 5"};
  if (o.timeout_ms < 1 || o.timeout_ms > kMaxTimeoutMs)
    return Error{errc::kBadArgs, "--timeout must be 1ms..60s", "e.g. --timeout 3s or 500ms"};
  if (o.interval_ms < 0 || o.interval_ms > kMaxIntervalMs)
    return Error{errc::kBadArgs, "--interval must be 0..60s", "e.g. --interval 1s"};
  if (o.hold_ms < 0 || o.hold_ms > kMaxHoldMs)
    return Error{errc::kBadArgs, "--hold must be 0..1h", "e.g. --hold 10s"};
  if (o.family != AF_UNSPEC && o.family != AF_INET && o.family != AF_INET6)
    return Error{errc::kBadArgs, "family must be any, 4 or 6", "use -4 or -6"};
  return ok_status();
}

Result<std::pair<std::string, int>> parse_host_port(const std::string& s) {
  const char* hint = "give HOST:PORT, e.g. web1:80, 198.18.0.3:443 or [2001:db8::1]:22";
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return Error{errc::kBadArgs, "`" + s + "`: expected [ADDRESS]:PORT", hint};
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto c = s.rfind(':');
    if (c == std::string::npos) return Error{errc::kBadArgs, "`" + s + "` has no port", hint};
    host = s.substr(0, c);
    port = s.substr(c + 1);
    if (host.find(':') != std::string::npos)
      return Error{errc::kBadArgs, "`" + s + "`: an IPv6 address needs brackets", hint};
  }
  if (host.empty()) return Error{errc::kBadArgs, "`" + s + "` has no host", hint};
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Error{errc::kBadArgs, "`" + port + "` is not a port number", hint};
  int p = std::stoi(port);
  if (p < 1 || p > 65535)
    return Error{errc::kBadArgs, fmt::format("port {} is out of range (1..65535)", p), hint};
  return std::pair<std::string, int>{host, p};
}

Attempt connect_once(const sockaddr* addr, socklen_t len, long timeout_ms, long hold_ms,
                     CancelToken* cancel) {
  Attempt a;
  a.address = ip_text(addr);
  a.family = family_name(addr->sa_family);
  bool v6 = addr->sa_family == AF_INET6;
  auto fail = [&](const char* verdict, const char* evidence, int err, std::string detail) {
    a.verdict = verdict;
    a.evidence = evidence;
    a.sys_errno = err;
    a.errno_name = err ? errno_name(err) : "";
    a.detail = std::move(detail);
    return a;
  };
  ScopedFd s(::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!s.valid())
    return fail(verdict::kError, "local", errno,
                fmt::format("cannot make a socket: {}", std::strerror(errno)));
  // Asks the kernel to queue the ICMP error it gets for this socket, with
  // type, code and sender; Linux does so in SYN_SENT too (tcp_v4_err calls
  // ip_icmp_error before it fails the connect).
  int one = 1;
  bool recverr = v6 ? ::setsockopt(s.get(), SOL_IPV6, IPV6_RECVERR, &one, sizeof one) == 0
                    : ::setsockopt(s.get(), SOL_IP, IP_RECVERR, &one, sizeof one) == 0;
  double t0 = now_ms_f();
  int rc = ::connect(s.get(), addr, len);
  int cerr = rc < 0 ? errno : 0;
  sockaddr_storage local{};
  socklen_t ll = sizeof local;
  std::string self;
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&local), &ll) == 0 &&
      sa_port(reinterpret_cast<sockaddr*>(&local)) != 0) {
    a.source = endpoint_text(reinterpret_cast<sockaddr*>(&local));
    self = ip_text(reinterpret_cast<sockaddr*>(&local));
  }
  if (rc < 0 && cerr != EINPROGRESS) {
    a.ms = round3(now_ms_f() - t0);
    switch (cerr) {
      case ENETUNREACH:
        return fail(verdict::kNoRoute, "local", cerr,
                    "this host has no route to " + a.address +
                        " (connect: ENETUNREACH, nothing "
                        "was sent)");
      case EHOSTUNREACH:
        return fail(verdict::kNoRoute, "local", cerr,
                    "this host's routing table marks " + a.address +
                        " unreachable (connect: EHOSTUNREACH, nothing was sent)");
      case EACCES:
      case EPERM:
        return fail(verdict::kError, "local", cerr,
                    "this host blocked the SYN itself: an OUTPUT firewall rule or a prohibit "
                    "route (connect: " +
                        errno_name(cerr) + ")");
      case EADDRNOTAVAIL:
        return fail(verdict::kError, "local", cerr,
                    "no usable source address or port here (EADDRNOTAVAIL)");
      case ENETDOWN:
        return fail(verdict::kNoRoute, "local", cerr, "the output interface is down (ENETDOWN)");
      default:
        return fail(verdict::kError, "local", cerr,
                    fmt::format("connect: {}", std::strerror(cerr)));
    }
  }

  double deadline = t0 + static_cast<double>(timeout_ms);
  bool connected = rc == 0;
  while (!connected) {
    if (cancel && cancel->cancelled()) {
      a.ms = round3(now_ms_f() - t0);
      return fail(verdict::kCancelled, "", 0, "cancelled before an answer came");
    }
    double left = deadline - now_ms_f();
    if (left <= 0) {
      a.ms = round3(now_ms_f() - t0);
      return fail(
          verdict::kTimeout, "no-answer", 0,
          fmt::format("no answer within {} ms: the SYN or its answer was dropped", timeout_ms));
    }
    pollfd p{s.get(), POLLOUT, 0};
    int wait = static_cast<int>(std::min(left, 100.0));
    int r = ::poll(&p, 1, wait < 1 ? 1 : wait);
    if (r < 0 && errno != EINTR)
      return fail(verdict::kError, "local", errno, fmt::format("poll: {}", std::strerror(errno)));
    if (r <= 0) continue;
    // SO_ERROR first: reading the error queue can clear the socket error.
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr == 0) {
      if (p.revents & POLLOUT) {
        connected = true;
        break;
      }
      // A soft error (queued ICMP that did not end the connect): keep waiting.
      (void)read_errqueue(s.get(), self);
      continue;
    }
    a.ms = round3(now_ms_f() - t0);
    auto icmp = recverr ? read_errqueue(s.get(), self) : std::nullopt;
    if (icmp) {
      a.icmp = icmp;
      std::string d = icmp_describe(*icmp);
      if (!icmp->from.empty()) d += " from " + icmp->from;
      if (icmp->from_self && icmp->kind == "host-unreachable")
        d += fmt::format(" (this host: no ARP/neighbour answer from {}{})", a.address,
                         v6 ? "" : ", or from the gateway");
      else if (icmp->from_self)
        d += " (this host)";
      return fail(verdict::kUnreachable, "icmp", soerr, d);
    }
    switch (soerr) {
      case ECONNREFUSED:
        if (recverr)
          return fail(verdict::kRefused, "rst", soerr,
                      "refused: RST in answer to the SYN (nothing listens there, or a firewall "
                      "rejects with tcp-reset)");
        return fail(verdict::kRefused, "errno", soerr,
                    "refused (ECONNREFUSED: an RST or an ICMP port unreachable; IP_RECVERR was "
                    "not available to tell)");
      case EHOSTUNREACH:
      case ENETUNREACH: {
        IcmpInfo i;
        i.kind = soerr == ENETUNREACH ? "net-unreachable" : "host-unreachable";
        a.icmp = i;
        return fail(verdict::kUnreachable, "errno", soerr,
                    icmp_describe(i) + ": " + std::strerror(soerr) +
                        " (the error queue held no ICMP message to say which, or from where)");
      }
      case EACCES: {
        // What Linux maps ICMPv6 admin-prohibited (and ICMP 3/9, 3/10) to.
        IcmpInfo i;
        i.v6 = v6;
        i.kind = "admin-prohibited";
        a.icmp = i;
        return fail(verdict::kUnreachable, "errno", soerr,
                    icmp_describe(i) + ": " + std::strerror(soerr) +
                        " (the error queue held no ICMP message to say from where)");
      }
      case ETIMEDOUT:
        return fail(verdict::kTimeout, "no-answer", soerr,
                    "the kernel gave up retrying the SYN (ETIMEDOUT; see "
                    "net.ipv4.tcp_syn_retries)");
      default:
        return fail(
            verdict::kError, "errno", soerr,
            fmt::format("connect failed: {} ({})", std::strerror(soerr), errno_name(soerr)));
    }
  }
  a.ms = round3(now_ms_f() - t0);
  a.verdict = verdict::kOpen;
  a.evidence = "syn-ack";
  a.detail = "connected in " + ms_text(a.ms);
  ll = sizeof local;
  if (a.source.empty() && ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&local), &ll) == 0)
    a.source = endpoint_text(reinterpret_cast<sockaddr*>(&local));
  if (hold_ms > 0) {
    HoldResult h;
    hold_connection(s.get(), hold_ms, cancel, h);
    a.hold = h;
  }
  return a;
}

ConnectResult connect_check(const ConnectOptions& o, CancelToken* cancel,
                            const std::function<void(const Attempt&)>& on_attempt) {
  ConnectResult rep;
  rep.options = o;
  double t0 = now_ms_f();
  auto done = [&]() -> ConnectResult {
    rep.elapsed_ms = static_cast<long>(now_ms_f() - t0);
    return rep;
  };
  addrinfo hints{};
  hints.ai_family = o.family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  addrinfo* res = nullptr;
  std::string port = std::to_string(o.port);
  int rc = ::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res);
  rep.resolve_ms = static_cast<long>(now_ms_f() - t0);
  if (rc != 0) {
    rep.resolve_error =
        rc == EAI_SYSTEM ? std::string("system error: ") + std::strerror(errno) : gai_strerror(rc);
    Attempt a;
    a.attempt = 1;
    a.verdict = verdict::kUnresolved;
    a.evidence = "getaddrinfo";
    a.ms = rep.resolve_ms;
    a.detail = fmt::format("{} does not resolve{}: {}", o.host,
                           o.family == AF_INET    ? " to an IPv4 address"
                           : o.family == AF_INET6 ? " to an IPv6 address"
                                                  : "",
                           rep.resolve_error);
    if (rc == EAI_NONAME)
      a.detail += " (no such name: check the spelling and the search domains; `sonde dns " +
                  o.host + "` shows what each nameserver says)";
    else if (rc == EAI_AGAIN)
      a.detail +=
          " (no nameserver gave an answer: check resolv.conf and that the nameservers "
          "are reachable; `sonde dns " +
          o.host + "`)";
    rep.attempts.push_back(a);
    if (on_attempt) on_attempt(a);
    return done();
  }
  struct Target {
    sockaddr_storage ss;
    socklen_t len;
    std::string ip;
  };
  std::vector<Target> targets;
  size_t total = 0;
  for (auto* p = res; p; p = p->ai_next) {
    if (p->ai_family != AF_INET && p->ai_family != AF_INET6) continue;
    if (p->ai_addrlen > sizeof(sockaddr_storage)) continue;
    Target t{};
    std::memcpy(&t.ss, p->ai_addr, p->ai_addrlen);
    t.len = p->ai_addrlen;
    t.ip = ip_text(p->ai_addr);
    if (std::any_of(targets.begin(), targets.end(), [&](const Target& x) { return x.ip == t.ip; }))
      continue;
    ++total;
    if (targets.size() < kMaxAddresses) targets.push_back(t);
  }
  ::freeaddrinfo(res);
  if (total > targets.size())
    rep.notes.push_back(fmt::format("{} resolves to {} addresses; only the first {} are tried",
                                    o.host, total, targets.size()));
  for (const auto& t : targets) rep.addresses.push_back(t.ip);
  if (targets.empty()) {
    rep.resolve_error = "no IPv4 or IPv6 address";
    Attempt a;
    a.attempt = 1;
    a.verdict = verdict::kUnresolved;
    a.evidence = "getaddrinfo";
    a.detail = o.host + " resolves to no IPv4 or IPv6 address";
    rep.attempts.push_back(a);
    return done();
  }

  std::map<std::string, bool> routed;
  for (int n = 1; n <= o.count; ++n) {
    if (n > 1 && o.interval_ms > 0 && cancel && !cancel->sleep_for(o.interval_ms)) break;
    if (n > 1 && o.interval_ms > 0 && !cancel)
      ::usleep(static_cast<useconds_t>(o.interval_ms) * 1000);
    if (cancel && cancel->cancelled()) break;
    for (const auto& t : targets) {
      if (!routed[t.ip]) {
        routed[t.ip] = true;
        auto r = route_get(reinterpret_cast<const sockaddr*>(&t.ss), t.len);
        if (r) {
          rep.routes.push_back(*r);
        } else {
          RouteInfo ri;
          ri.destination = t.ip;
          ri.error = r.error().describe();
          rep.routes.push_back(ri);
        }
      }
      Attempt a = connect_once(reinterpret_cast<const sockaddr*>(&t.ss), t.len, o.timeout_ms,
                               o.hold_ms, cancel);
      a.attempt = n;
      if (a.verdict == verdict::kTimeout) check_neighbour(a, rep.routes);
      rep.attempts.push_back(a);
      if (on_attempt) on_attempt(a);
      if (a.verdict == verdict::kCancelled) break;
      if (a.verdict == verdict::kOpen && !o.all_addresses) break;
    }
    if (cancel && cancel->cancelled()) break;
  }
  rep.cancelled = cancel && cancel->cancelled();
  if (rep.cancelled) rep.notes.push_back("cancelled: the attempts shown are those made so far");
  return done();
}

}  // namespace sonde::net
