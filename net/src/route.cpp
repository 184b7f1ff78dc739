// The route the kernel uses for a destination: one RTM_GETROUTE request over
// rtnetlink, the same question `ip route get ADDR` asks. The reply is parsed
// with every header and attribute length checked against what is left.
#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>

#include "sonde/common/fd.h"
#include "sonde/net/connect.h"

namespace sonde::net {
namespace {

const char* route_type_name(unsigned t) {
  switch (t) {
    case RTN_UNICAST:
      return "unicast";
    case RTN_LOCAL:
      return "local";
    case RTN_BROADCAST:
      return "broadcast";
    case RTN_ANYCAST:
      return "anycast";
    case RTN_MULTICAST:
      return "multicast";
    case RTN_BLACKHOLE:
      return "blackhole";
    case RTN_UNREACHABLE:
      return "unreachable";
    case RTN_PROHIBIT:
      return "prohibit";
    case RTN_THROW:
      return "throw";
    case RTN_NAT:
      return "nat";
    default:
      return "other";
  }
}

std::string addr_text(int family, const void* p, size_t len) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET && len == 4) return inet_ntop(AF_INET, p, buf, sizeof buf) ? buf : "";
  if (family == AF_INET6 && len == 16) return inet_ntop(AF_INET6, p, buf, sizeof buf) ? buf : "";
  return "";
}

bool u32_attr(const uint8_t* p, size_t plen, uint32_t* out) {
  if (plen < sizeof(uint32_t)) return false;
  std::memcpy(out, p, sizeof *out);
  return true;
}

Error bad(const std::string& what) {
  return Error{errc::kProtocol, "rtnetlink reply: " + what, {}};
}

// Walks the attributes in [p, p+len) and calls f(type, payload, payload_len)
// for each; false when a length does not fit.
template <typename F>
bool walk_attrs(const uint8_t* p, size_t len, F&& f) {
  while (len > 0) {
    if (len < sizeof(rtattr)) return false;
    rtattr a;
    std::memcpy(&a, p, sizeof a);
    if (a.rta_len < sizeof(rtattr) || a.rta_len > len) return false;
    f(a.rta_type, p + RTA_LENGTH(0), static_cast<size_t>(a.rta_len - RTA_LENGTH(0)));
    size_t step = RTA_ALIGN(a.rta_len);
    if (step >= len) break;
    p += step;
    len -= step;
  }
  return true;
}

// Sends one request to the kernel and returns its reply datagram.
Result<std::vector<uint8_t>> rtnl_ask(const void* req, size_t len) {
  ScopedFd s(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!s.valid()) return errno_error("rtnetlink socket");
  timeval tv{2, 0};  // the kernel answers at once; this only bounds a broken stack
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl k{};
  k.nl_family = AF_NETLINK;
  if (::sendto(s.get(), req, len, 0, reinterpret_cast<sockaddr*>(&k), sizeof k) < 0)
    return errno_error("rtnetlink send");
  std::vector<uint8_t> buf(16384);
  for (int tries = 0; tries < 4; ++tries) {
    sockaddr_nl from{};
    socklen_t fl = sizeof from;
    ssize_t n = ::recvfrom(s.get(), buf.data(), buf.size(), MSG_TRUNC,
                           reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("rtnetlink receive");
    }
    if (from.nl_pid != 0) continue;  // not from the kernel
    if (static_cast<size_t>(n) > buf.size()) return bad("reply larger than our buffer");
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
  return bad("no reply from the kernel");
}

const char* neigh_state_name(unsigned st) {
  if (st & NUD_INCOMPLETE) return "INCOMPLETE";
  if (st & NUD_REACHABLE) return "REACHABLE";
  if (st & NUD_STALE) return "STALE";
  if (st & NUD_DELAY) return "DELAY";
  if (st & NUD_PROBE) return "PROBE";
  if (st & NUD_FAILED) return "FAILED";
  if (st & NUD_NOARP) return "NOARP";
  if (st & NUD_PERMANENT) return "PERMANENT";
  return "NONE";
}

}  // namespace

Result<RouteInfo> parse_route_reply(const uint8_t* data, size_t len) {
  if (data == nullptr) return bad("empty");
  while (len > 0) {
    if (len < sizeof(nlmsghdr)) return bad("truncated header");
    nlmsghdr h;
    std::memcpy(&h, data, sizeof h);
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > len) return bad("bad message length");
    const uint8_t* payload = data + NLMSG_HDRLEN;
    size_t plen = h.nlmsg_len - NLMSG_HDRLEN;
    if (h.nlmsg_len < NLMSG_HDRLEN) return bad("bad message length");
    if (h.nlmsg_type == NLMSG_ERROR) {
      if (plen < sizeof(nlmsgerr)) return bad("truncated error");
      nlmsgerr e;
      std::memcpy(&e, payload, sizeof e);
      if (e.error == 0) return bad("an acknowledgement, no route");
      int err = -e.error;
      if (err <= 0 || err > 4095) return bad("bad errno in error message");
      return Error::sys(code_for_errno(err), err, std::strerror(err));
    }
    if (h.nlmsg_type == RTM_NEWROUTE) {
      if (plen < sizeof(rtmsg)) return bad("truncated rtmsg");
      rtmsg rt;
      std::memcpy(&rt, payload, sizeof rt);
      RouteInfo r;
      r.type = route_type_name(rt.rtm_type);
      r.table = rt.rtm_table;
      int fam = rt.rtm_family;
      if (fam != AF_INET && fam != AF_INET6) return bad("unknown address family");
      const uint8_t* attrs = payload + NLMSG_ALIGN(sizeof(rtmsg));
      size_t alen = plen > NLMSG_ALIGN(sizeof(rtmsg)) ? plen - NLMSG_ALIGN(sizeof(rtmsg)) : 0;
      bool good_metrics = true;
      bool ok = walk_attrs(attrs, alen, [&](unsigned type, const uint8_t* p, size_t n) {
        uint32_t v = 0;
        switch (type) {
          case RTA_DST:
            r.destination = addr_text(fam, p, n);
            break;
          case RTA_GATEWAY:
            r.gateway = addr_text(fam, p, n);
            break;
          case RTA_PREFSRC:
            r.prefsrc = addr_text(fam, p, n);
            break;
          case RTA_OIF:
            if (u32_attr(p, n, &v)) r.oif = static_cast<int>(v);
            break;
          case RTA_TABLE:
            if (u32_attr(p, n, &v)) r.table = static_cast<int>(v);
            break;
          case RTA_VIA:
            // An IPv4 route through an IPv6 gateway (RFC 5549).
            if (n >= sizeof(uint16_t)) {
              uint16_t vf;
              std::memcpy(&vf, p, sizeof vf);
              r.gateway = addr_text(vf, p + sizeof vf, n - sizeof vf);
            }
            break;
          case RTA_METRICS:
            good_metrics = walk_attrs(p, n, [&](unsigned mt, const uint8_t* mp, size_t mn) {
              if (mt == RTAX_MTU && mn >= sizeof(uint32_t)) std::memcpy(&r.mtu, mp, sizeof r.mtu);
            });
            break;
          default:
            break;
        }
      });
      if (!ok || !good_metrics) return bad("attribute length out of bounds");
      return r;
    }
    size_t step = NLMSG_ALIGN(h.nlmsg_len);
    if (step >= len) break;
    data += step;
    len -= step;
  }
  return bad("no route message");
}

Result<RouteInfo> route_get(const sockaddr* addr, socklen_t len) {
  struct {
    nlmsghdr nh;
    rtmsg rt;
    uint8_t attrs[64];
  } req;
  std::memset(&req, 0, sizeof req);
  int fam = addr->sa_family;
  const void* dst = nullptr;
  size_t dlen = 0;
  if (fam == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    dst = &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr;
    dlen = 4;
  } else if (fam == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    dst = &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    dlen = 16;
  } else {
    return Error{errc::kBadArgs, "route_get: not an IPv4 or IPv6 address", {}};
  }
  req.nh.nlmsg_type = RTM_GETROUTE;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.rt.rtm_family = static_cast<unsigned char>(fam);
  req.rt.rtm_dst_len = static_cast<unsigned char>(dlen * 8);
  auto* a = reinterpret_cast<rtattr*>(req.attrs);
  a->rta_type = RTA_DST;
  a->rta_len = static_cast<unsigned short>(RTA_LENGTH(dlen));
  std::memcpy(RTA_DATA(a), dst, dlen);
  req.nh.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(sizeof(rtmsg)) + RTA_ALIGN(a->rta_len));

  auto reply = rtnl_ask(&req, req.nh.nlmsg_len);
  if (!reply) return reply.error();
  RouteInfo r;
  auto p = parse_route_reply(reply->data(), reply->size());
  if (p) {
    r = std::move(*p);
  } else if (p.error().sys_errno != 0) {
    r.error = p.error().message;  // the lookup failed: no route, prohibited, ...
  } else {
    return p.error();
  }
  if (r.destination.empty()) r.destination = addr_text(fam, dst, dlen);
  if (r.oif > 0) {
    char name[IF_NAMESIZE] = {};
    if (::if_indextoname(static_cast<unsigned>(r.oif), name)) r.dev = name;
  }
  return r;
}

Result<std::string> parse_neigh_reply(const uint8_t* data, size_t len) {
  if (data == nullptr) return bad("empty");
  while (len > 0) {
    if (len < sizeof(nlmsghdr)) return bad("truncated header");
    nlmsghdr h;
    std::memcpy(&h, data, sizeof h);
    if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len) return bad("bad message length");
    const uint8_t* payload = data + NLMSG_HDRLEN;
    size_t plen = h.nlmsg_len - NLMSG_HDRLEN;
    if (h.nlmsg_type == NLMSG_ERROR) {
      if (plen < sizeof(nlmsgerr)) return bad("truncated error");
      nlmsgerr e;
      std::memcpy(&e, payload, sizeof e);
      int err = -e.error;
      if (err <= 0 || err > 4095) return bad("bad errno in error message");
      return Error::sys(code_for_errno(err), err, std::strerror(err));
    }
    if (h.nlmsg_type == RTM_NEWNEIGH) {
      if (plen < sizeof(ndmsg)) return bad("truncated ndmsg");
      ndmsg nd;
      std::memcpy(&nd, payload, sizeof nd);
      size_t off = NLMSG_ALIGN(sizeof(ndmsg));
      // The attributes are not needed, but they must be well formed.
      if (plen > off &&
          !walk_attrs(payload + off, plen - off, [](unsigned, const uint8_t*, size_t) {}))
        return bad("attribute length out of bounds");
      return std::string(neigh_state_name(nd.ndm_state));
    }
    size_t step = NLMSG_ALIGN(h.nlmsg_len);
    if (step >= len) break;
    data += step;
    len -= step;
  }
  return bad("no neighbour message");
}

Result<std::string> neighbour_state(const std::string& ip, int ifindex) {
  struct {
    nlmsghdr nh;
    ndmsg nd;
    uint8_t attrs[64];
  } req;
  std::memset(&req, 0, sizeof req);
  uint8_t a[16];
  size_t alen = 0;
  int fam = AF_INET;
  if (inet_pton(AF_INET, ip.c_str(), a) == 1) {
    alen = 4;
  } else if (inet_pton(AF_INET6, ip.c_str(), a) == 1) {
    alen = 16;
    fam = AF_INET6;
  } else {
    return Error{errc::kBadArgs, "neighbour_state: not an address: " + ip, {}};
  }
  req.nh.nlmsg_type = RTM_GETNEIGH;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.nd.ndm_family = static_cast<uint8_t>(fam);
  req.nd.ndm_ifindex = ifindex;
  auto* at = reinterpret_cast<rtattr*>(req.attrs);
  at->rta_type = NDA_DST;
  at->rta_len = static_cast<unsigned short>(RTA_LENGTH(alen));
  std::memcpy(RTA_DATA(at), a, alen);
  req.nh.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(sizeof(ndmsg)) + RTA_ALIGN(at->rta_len));
  auto reply = rtnl_ask(&req, req.nh.nlmsg_len);
  if (!reply) return reply.error();
  auto st = parse_neigh_reply(reply->data(), reply->size());
  // No entry at all: the kernel never tried (or forgot).
  if (!st && st.error().sys_errno == ENOENT) return std::string("NONE");
  return st;
}

}  // namespace sonde::net
