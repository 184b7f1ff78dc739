// Network syscalls: socket, connect/bind/accept with sockaddrs (AF_INET,
// AF_INET6, AF_UNIX, AF_NETLINK), send/recv families, socket options.
#include <arpa/inet.h>
#include <asm/unistd_64.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>

#include <fmt/format.h>

#include "decode_internal.h"

namespace sonde::ptrace::detail {
namespace {

constexpr Named kFamilies[] = {
    {AF_UNSPEC, "AF_UNSPEC"},
    {AF_UNIX, "AF_UNIX"},
    {AF_INET, "AF_INET"},
    {AF_AX25, "AF_AX25"},
    {AF_IPX, "AF_IPX"},
    {AF_APPLETALK, "AF_APPLETALK"},
    {AF_BRIDGE, "AF_BRIDGE"},
    {AF_INET6, "AF_INET6"},
    {AF_KEY, "AF_KEY"},
    {AF_NETLINK, "AF_NETLINK"},
    {AF_PACKET, "AF_PACKET"},
    {AF_CAN, "AF_CAN"},
    {AF_BLUETOOTH, "AF_BLUETOOTH"},
    {AF_ALG, "AF_ALG"},
    {AF_VSOCK, "AF_VSOCK"},
    {AF_XDP, "AF_XDP"},
    {AF_TIPC, "AF_TIPC"},
    {AF_RDS, "AF_RDS"},
};
constexpr Named kSockTypes[] = {
    {1, "SOCK_STREAM"},    {2, "SOCK_DGRAM"}, {3, "SOCK_RAW"},     {4, "SOCK_RDM"},
    {5, "SOCK_SEQPACKET"}, {6, "SOCK_DCCP"},  {10, "SOCK_PACKET"},
};
constexpr Named kSockFlags[] = {{04000, "SOCK_NONBLOCK"}, {02000000, "SOCK_CLOEXEC"}};
constexpr Named kInetProtos[] = {
    {0, "IPPROTO_IP"},     {1, "IPPROTO_ICMP"},      {2, "IPPROTO_IGMP"},  {6, "IPPROTO_TCP"},
    {17, "IPPROTO_UDP"},   {41, "IPPROTO_IPV6"},     {47, "IPPROTO_GRE"},  {58, "IPPROTO_ICMPV6"},
    {132, "IPPROTO_SCTP"}, {136, "IPPROTO_UDPLITE"}, {255, "IPPROTO_RAW"}, {262, "IPPROTO_MPTCP"},
};
constexpr Named kNetlinkProtos[] = {
    {0, "NETLINK_ROUTE"},    {4, "NETLINK_SOCK_DIAG"},  {6, "NETLINK_XFRM"},
    {9, "NETLINK_AUDIT"},    {12, "NETLINK_NETFILTER"}, {15, "NETLINK_KOBJECT_UEVENT"},
    {16, "NETLINK_GENERIC"},
};
constexpr Named kMsgFlags[] = {
    {0x1, "MSG_OOB"},
    {0x2, "MSG_PEEK"},
    {0x4, "MSG_DONTROUTE"},
    {0x8, "MSG_CTRUNC"},
    {0x10, "MSG_PROXY"},
    {0x20, "MSG_TRUNC"},
    {0x40, "MSG_DONTWAIT"},
    {0x80, "MSG_EOR"},
    {0x100, "MSG_WAITALL"},
    {0x200, "MSG_FIN"},
    {0x400, "MSG_SYN"},
    {0x800, "MSG_CONFIRM"},
    {0x1000, "MSG_RST"},
    {0x2000, "MSG_ERRQUEUE"},
    {0x4000, "MSG_NOSIGNAL"},
    {0x8000, "MSG_MORE"},
    {0x10000, "MSG_WAITFORONE"},
    {0x40000, "MSG_BATCH"},
    {0x4000000, "MSG_ZEROCOPY"},
    {0x20000000, "MSG_FASTOPEN"},
    {0x40000000, "MSG_CMSG_CLOEXEC"},
};
constexpr Named kShutdown[] = {{0, "SHUT_RD"}, {1, "SHUT_WR"}, {2, "SHUT_RDWR"}};
constexpr Named kLevels[] = {
    {0, "SOL_IP"},       {1, "SOL_SOCKET"},    {6, "SOL_TCP"},    {17, "SOL_UDP"},
    {41, "SOL_IPV6"},    {58, "SOL_ICMPV6"},   {132, "SOL_SCTP"}, {255, "SOL_RAW"},
    {263, "SOL_PACKET"}, {270, "SOL_NETLINK"}, {279, "SOL_ALG"},  {282, "SOL_TLS"},
};
constexpr Named kSocketOpts[] = {
    {1, "SO_DEBUG"},          {2, "SO_REUSEADDR"},      {3, "SO_TYPE"},
    {4, "SO_ERROR"},          {5, "SO_DONTROUTE"},      {6, "SO_BROADCAST"},
    {7, "SO_SNDBUF"},         {8, "SO_RCVBUF"},         {9, "SO_KEEPALIVE"},
    {10, "SO_OOBINLINE"},     {11, "SO_NO_CHECK"},      {12, "SO_PRIORITY"},
    {13, "SO_LINGER"},        {14, "SO_BSDCOMPAT"},     {15, "SO_REUSEPORT"},
    {16, "SO_PASSCRED"},      {17, "SO_PEERCRED"},      {18, "SO_RCVLOWAT"},
    {19, "SO_SNDLOWAT"},      {20, "SO_RCVTIMEO_OLD"},  {21, "SO_SNDTIMEO_OLD"},
    {25, "SO_BINDTODEVICE"},  {26, "SO_ATTACH_FILTER"}, {27, "SO_DETACH_FILTER"},
    {29, "SO_TIMESTAMP_OLD"}, {30, "SO_ACCEPTCONN"},    {31, "SO_PEERSEC"},
    {32, "SO_SNDBUFFORCE"},   {33, "SO_RCVBUFFORCE"},   {34, "SO_PASSSEC"},
    {36, "SO_MARK"},          {38, "SO_PROTOCOL"},      {39, "SO_DOMAIN"},
    {40, "SO_RXQ_OVFL"},      {46, "SO_BUSY_POLL"},     {49, "SO_INCOMING_CPU"},
    {60, "SO_ZEROCOPY"},      {61, "SO_TXTIME"},        {62, "SO_BINDTOIFINDEX"},
    {66, "SO_RCVTIMEO_NEW"},  {67, "SO_SNDTIMEO_NEW"},
};
constexpr Named kTcpOpts[] = {
    {1, "TCP_NODELAY"},        {2, "TCP_MAXSEG"},
    {3, "TCP_CORK"},           {4, "TCP_KEEPIDLE"},
    {5, "TCP_KEEPINTVL"},      {6, "TCP_KEEPCNT"},
    {7, "TCP_SYNCNT"},         {8, "TCP_LINGER2"},
    {9, "TCP_DEFER_ACCEPT"},   {10, "TCP_WINDOW_CLAMP"},
    {11, "TCP_INFO"},          {12, "TCP_QUICKACK"},
    {13, "TCP_CONGESTION"},    {14, "TCP_MD5SIG"},
    {18, "TCP_USER_TIMEOUT"},  {19, "TCP_REPAIR"},
    {23, "TCP_FASTOPEN"},      {24, "TCP_TIMESTAMP"},
    {25, "TCP_NOTSENT_LOWAT"}, {30, "TCP_FASTOPEN_CONNECT"},
    {31, "TCP_ULP"},
};
constexpr Named kIpOpts[] = {
    {1, "IP_TOS"},
    {2, "IP_TTL"},
    {3, "IP_HDRINCL"},
    {4, "IP_OPTIONS"},
    {8, "IP_PKTINFO"},
    {10, "IP_MTU_DISCOVER"},
    {11, "IP_RECVERR"},
    {12, "IP_RECVTTL"},
    {13, "IP_RECVTOS"},
    {14, "IP_MTU"},
    {15, "IP_FREEBIND"},
    {19, "IP_TRANSPARENT"},
    {24, "IP_BIND_ADDRESS_NO_PORT"},
    {32, "IP_MULTICAST_IF"},
    {33, "IP_MULTICAST_TTL"},
    {34, "IP_MULTICAST_LOOP"},
    {35, "IP_ADD_MEMBERSHIP"},
    {36, "IP_DROP_MEMBERSHIP"},
};
constexpr Named kIpv6Opts[] = {
    {1, "IPV6_ADDRFORM"},         {16, "IPV6_UNICAST_HOPS"},   {17, "IPV6_MULTICAST_IF"},
    {18, "IPV6_MULTICAST_HOPS"},  {19, "IPV6_MULTICAST_LOOP"}, {20, "IPV6_ADD_MEMBERSHIP"},
    {21, "IPV6_DROP_MEMBERSHIP"}, {23, "IPV6_MTU_DISCOVER"},   {24, "IPV6_MTU"},
    {25, "IPV6_RECVERR"},         {26, "IPV6_V6ONLY"},         {49, "IPV6_RECVPKTINFO"},
    {50, "IPV6_PKTINFO"},         {66, "IPV6_RECVTCLASS"},     {67, "IPV6_TCLASS"},
};
constexpr Named kUdpOpts[] = {
    {1, "UDP_CORK"}, {100, "UDP_ENCAP"}, {103, "UDP_SEGMENT"}, {104, "UDP_GRO"}};

std::string family_text(uint64_t f) {
  if (const char* n = enum_name(f, kFamilies)) return n;
  return fmt::format("{:#x} /* AF_??? */", f);
}

std::string socket_type_text(uint64_t t) {
  std::string out = enum_text(t & 0xf, kSockTypes, "SOCK_");
  // Piecewise, not `"|" + string`: GCC 12 -O3's false -Wrestrict (bug 105651).
  if (t & ~uint64_t{0xf}) {
    out += '|';
    out += flags_text(t & ~uint64_t{0xf}, kSockFlags);
  }
  return out;
}

std::string protocol_text(uint64_t domain, uint64_t proto) {
  if (domain == AF_INET || domain == AF_INET6) return enum_text(proto, kInetProtos, "IPPROTO_");
  if (domain == AF_NETLINK) return enum_text(proto, kNetlinkProtos, "NETLINK_");
  return std::to_string(proto);
}

Table options_for(uint64_t level) {
  switch (level) {
    case 1:
      return kSocketOpts;
    case 6:
      return kTcpOpts;
    case 0:
      return kIpOpts;
    case 41:
      return kIpv6Opts;
    case 17:
      return kUdpOpts;
    default:
      return {};
  }
}

std::string optname_text(uint64_t level, uint64_t opt) {
  Table t = options_for(level);
  if (const char* n = enum_name(opt, t)) return n;
  return std::to_string(opt);
}

// An addrlen passed by pointer: "[16]" (value-result, shown after the call).
void socklen_ptr(Call& c, const char* name, int i) {
  uint32_t len = 0;
  if (c.arg(i) != 0 && c.read_obj(c.arg(i), len)) {
    c.add(name, len, fmt::format("[{}]", len));
  } else {
    c.ptr(name, i);
  }
}

// A sockaddr the kernel filled (accept, getsockname, recvfrom): its length
// is the value at the addrlen pointer after the call.
void sockaddr_out(Call& c, const char* name, int i, int len_arg) {
  uint32_t len = 0;
  if (!c.succeeded() || c.arg(i) == 0 || !c.read_obj(c.arg(len_arg), len)) {
    c.ptr(name, i);
    return;
  }
  json v;
  std::string t = sockaddr_text(c, c.arg(i), len, &v);
  c.add(name, v.is_null() ? json(c.arg(i)) : v, t);
}

void sockaddr_in_arg(Call& c, const char* name, int i, uint64_t len) {
  json v;
  std::string t = sockaddr_text(c, c.arg(i), len, &v);
  c.add(name, v.is_null() ? json(c.arg(i)) : v, t);
}

void sockopt_value(Call& c, uint64_t level, uint64_t opt, uint64_t addr, uint64_t len) {
  if (addr == 0) {
    c.add("optval", 0, "NULL");
    return;
  }
  if (len == 4) {
    int32_t v;
    if (c.read_obj(addr, v)) {
      c.add("optval", v, fmt::format("[{}]", v));
      return;
    }
  }
  if (level == SOL_SOCKET && opt == SO_LINGER && len >= 8) {
    struct {
      int32_t onoff;
      int32_t linger;
    } l;
    if (c.read_obj(addr, l)) {
      c.add("optval", addr, fmt::format("{{l_onoff={}, l_linger={}}}", l.onoff, l.linger));
      return;
    }
  }
  bool stringy = (level == SOL_SOCKET && opt == SO_BINDTODEVICE) ||
                 (level == IPPROTO_TCP && (opt == 13 || opt == 31));
  if (stringy) {
    auto bytes =
        c.read_bytes(addr, static_cast<size_t>(std::min<uint64_t>(len, c.opts().string_limit)));
    if (bytes) {
      c.add("optval", *bytes, quote_bytes(*bytes, bytes->size(), len > bytes->size()));
      return;
    }
  }
  c.add("optval", addr, ptr_text(addr));
}

struct MsgHdr {
  uint64_t name;
  uint32_t namelen;
  uint32_t pad0;
  uint64_t iov;
  uint64_t iovlen;
  uint64_t control;
  uint64_t controllen;
  int32_t flags;
  int32_t pad1;
};

std::string msghdr_text(Call& c, const MsgHdr& m, int64_t data_limit, bool show_flags) {
  std::string out = "{msg_name=";
  if (m.name == 0) {
    out += "NULL";
  } else {
    out += sockaddr_text(c, m.name, m.namelen, nullptr);
  }
  out += fmt::format(", msg_namelen={}", m.namelen);
  out += ", msg_iov=" + iovec_text(c, m.iov, m.iovlen, data_limit);
  out += fmt::format(", msg_iovlen={}", m.iovlen);
  if (m.controllen != 0) out += ", msg_control=" + ptr_text(m.control);
  out += fmt::format(", msg_controllen={}", m.controllen);
  out += ", msg_flags=" + (show_flags ? flags_text(static_cast<uint32_t>(m.flags), kMsgFlags)
                                      : std::to_string(m.flags));
  return out + "}";
}

void msghdr_arg(Call& c, bool receiving) {
  MsgHdr m;
  if (receiving && !c.succeeded()) {
    c.ptr("msg", 1);
    return;
  }
  if (!c.read_obj(c.arg(1), m)) {
    c.ptr("msg", 1);
    return;
  }
  c.add("msg", c.arg(1), msghdr_text(c, m, receiving ? c.ret() : -1, receiving));
}

}  // namespace

std::string sockaddr_text(Call& c, uint64_t addr, uint64_t len, json* value) {
  if (addr == 0) return "NULL";
  if (len < 2) return ptr_text(addr);
  size_t n = static_cast<size_t>(std::min<uint64_t>(len, sizeof(sockaddr_storage)));
  sockaddr_storage ss{};
  if (c.mem().read(RemotePtr<void>(addr), &ss, n) != static_cast<ssize_t>(n)) return ptr_text(addr);
  uint16_t fam = ss.ss_family;
  std::string out = "{sa_family=" + family_text(fam);
  if (fam == AF_INET && n >= sizeof(sockaddr_in)) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    char ip[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &in.sin_addr, ip, sizeof ip);
    if (value) *value = {{"family", "AF_INET"}, {"port", ntohs(in.sin_port)}, {"addr", ip}};
    return out + fmt::format(", sin_port=htons({}), sin_addr=inet_addr(\"{}\")}}",
                             ntohs(in.sin_port), ip);
  }
  if (fam == AF_INET6 && n >= sizeof(sockaddr_in6)) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    char ip[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &in6.sin6_addr, ip, sizeof ip);
    if (value) *value = {{"family", "AF_INET6"}, {"port", ntohs(in6.sin6_port)}, {"addr", ip}};
    return out + fmt::format(
                     ", sin6_port=htons({}), sin6_flowinfo=htonl({}), inet_pton(AF_INET6, \"{}\", "
                     "&sin6_addr), sin6_scope_id={}}}",
                     ntohs(in6.sin6_port), ntohl(in6.sin6_flowinfo), ip, in6.sin6_scope_id);
  }
  if (fam == AF_UNIX) {
    const auto& un = reinterpret_cast<const sockaddr_un&>(ss);
    size_t plen = n - offsetof(sockaddr_un, sun_path);
    if (plen == 0) {
      if (value) *value = {{"family", "AF_UNIX"}};
      return out + "}";
    }
    std::string_view p(un.sun_path, plen);
    bool abstract = p[0] == '\0';
    if (abstract) {
      p.remove_prefix(1);
    } else if (auto z = p.find('\0'); z != std::string_view::npos) {
      p = p.substr(0, z);
    }
    std::string path(p);
    if (value) *value = {{"family", "AF_UNIX"}, {"path", (abstract ? "@" : "") + path}};
    return out + ", sun_path=" + (abstract ? "@" : "") + quote_bytes(path, SIZE_MAX, false) + "}";
  }
  if (fam == AF_NETLINK && n >= sizeof(sockaddr_nl)) {
    const auto& nl = reinterpret_cast<const sockaddr_nl&>(ss);
    if (value) *value = {{"family", "AF_NETLINK"}, {"pid", nl.nl_pid}, {"groups", nl.nl_groups}};
    return out + fmt::format(", nl_pid={}, nl_groups={:08x}}}", nl.nl_pid, nl.nl_groups);
  }
  std::string_view data(reinterpret_cast<const char*>(&ss) + 2, n - 2);
  if (value) *value = {{"family", fam}};
  return out + ", sa_data=" + quote_bytes(data, c.opts().string_limit, false) + "}";
}

bool decode_net(Call& c) {
  switch (c.nr()) {
    case __NR_socket:
      c.add("domain", c.arg(0), family_text(c.arg(0)));
      c.add("type", c.arg(1), socket_type_text(c.arg(1)));
      c.add("protocol", c.arg(2), protocol_text(c.arg(0), c.arg(2)));
      return true;
    case __NR_socketpair: {
      c.add("domain", c.arg(0), family_text(c.arg(0)));
      c.add("type", c.arg(1), socket_type_text(c.arg(1)));
      c.add("protocol", c.arg(2), protocol_text(c.arg(0), c.arg(2)));
      int32_t sv[2];
      if (c.succeeded() && c.read_obj(c.arg(3), sv)) {
        c.add("sv", json::array({sv[0], sv[1]}),
              "[" + c.fd_text(sv[0]) + ", " + c.fd_text(sv[1]) + "]");
      } else {
        c.ptr("sv", 3);
      }
      return true;
    }
    case __NR_connect:
    case __NR_bind:
      c.fd("sockfd", 0);
      sockaddr_in_arg(c, "addr", 1, c.arg(2));
      c.add("addrlen", static_cast<uint32_t>(c.arg(2)),
            std::to_string(static_cast<uint32_t>(c.arg(2))));
      return true;
    case __NR_accept:
    case __NR_accept4:
    case __NR_getsockname:
    case __NR_getpeername:
      c.fd("sockfd", 0);
      sockaddr_out(c, "addr", 1, 2);
      socklen_ptr(c, "addrlen", 2);
      if (c.nr() == __NR_accept4) c.flags("flags", 3, kSockFlags);
      return true;
    case __NR_listen:
      c.fd("sockfd", 0);
      c.sint("backlog", 1);
      return true;
    case __NR_shutdown:
      c.fd("sockfd", 0);
      c.enumv("how", 1, kShutdown, "SHUT_");
      return true;
    case __NR_sendto:
      c.fd("sockfd", 0);
      c.buffer("buf", 1, c.arg(2));
      c.ulong("len", 2);
      c.flags("flags", 3, kMsgFlags);
      sockaddr_in_arg(c, "dest_addr", 4, c.arg(5));
      c.add("addrlen", static_cast<uint32_t>(c.arg(5)),
            std::to_string(static_cast<uint32_t>(c.arg(5))));
      return true;
    case __NR_recvfrom:
      c.fd("sockfd", 0);
      if (c.succeeded()) {
        c.buffer("buf", 1, static_cast<uint64_t>(c.ret()));
      } else {
        c.ptr("buf", 1);
      }
      c.ulong("len", 2);
      c.flags("flags", 3, kMsgFlags);
      if (c.arg(4) == 0) {
        c.add("src_addr", 0, "NULL");
      } else {
        sockaddr_out(c, "src_addr", 4, 5);
      }
      if (c.arg(5) == 0) {
        c.add("addrlen", 0, "NULL");
      } else {
        socklen_ptr(c, "addrlen", 5);
      }
      return true;
    case __NR_sendmsg:
    case __NR_recvmsg:
      c.fd("sockfd", 0);
      msghdr_arg(c, c.nr() == __NR_recvmsg);
      c.flags("flags", 2, kMsgFlags);
      return true;
    case __NR_setsockopt:
      c.fd("sockfd", 0);
      c.enumv("level", 1, kLevels, "SOL_");
      c.add("optname", c.arg(2), optname_text(c.arg(1), c.arg(2)));
      sockopt_value(c, c.arg(1), c.arg(2), c.arg(3), c.arg(4));
      c.sint("optlen", 4);
      return true;
    case __NR_getsockopt: {
      c.fd("sockfd", 0);
      c.enumv("level", 1, kLevels, "SOL_");
      c.add("optname", c.arg(2), optname_text(c.arg(1), c.arg(2)));
      uint32_t len = 0;
      if (c.succeeded() && c.read_obj(c.arg(4), len)) {
        sockopt_value(c, c.arg(1), c.arg(2), c.arg(3), len);
      } else {
        c.ptr("optval", 3);
      }
      socklen_ptr(c, "optlen", 4);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace sonde::ptrace::detail
