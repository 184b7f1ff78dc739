#include "sonde/proc/sockets.h"

#include <sys/stat.h>

#include <arpa/inet.h>

#include <cstring>

#include "sonde/common/io.h"
#include "sonde/proc/text.h"

namespace sonde::proc {
namespace {

// The kernel prints each 32-bit word of the address with %08X of its
// in-memory value, so parsing the word and storing it natively restores the
// network-order bytes on either endianness.
bool decode_words(std::string_view hex, unsigned char* out, size_t words) {
  if (hex.size() != words * 8) return false;
  for (size_t i = 0; i < words; ++i) {
    auto w = to_ull(hex.substr(i * 8, 8), 16);
    if (!w) return false;
    uint32_t v = static_cast<uint32_t>(*w);
    std::memcpy(out + i * 4, &v, 4);
  }
  return true;
}

}  // namespace

json SocketInfo::to_json() const {
  SocketInfo safe = *this;
  safe.local = utf8_safe(local);
  return proc::to_json(safe);
}

std::optional<std::string> decode_address(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto port = to_ull(s.substr(colon + 1), 16);
  if (!port || *port > 0xffff) return std::nullopt;
  std::string_view hex = s.substr(0, colon);
  char buf[INET6_ADDRSTRLEN] = {};
  if (hex.size() == 8) {
    unsigned char a[4];
    if (!decode_words(hex, a, 1) || !::inet_ntop(AF_INET, a, buf, sizeof buf)) return std::nullopt;
    return std::string(buf) + ":" + std::to_string(*port);
  }
  if (hex.size() == 32) {
    unsigned char a[16];
    if (!decode_words(hex, a, 4) || !::inet_ntop(AF_INET6, a, buf, sizeof buf)) return std::nullopt;
    return "[" + std::string(buf) + "]:" + std::to_string(*port);
  }
  return std::nullopt;
}

const char* tcp_state_name(unsigned state) {
  static const char* const names[] = {
      "UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT",
      "CLOSE",   "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV"};
  return state < sizeof names / sizeof names[0] ? names[state] : "UNKNOWN";
}

std::optional<SocketInfo> parse_inet_line(std::string_view proto, std::string_view line) {
  // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
  auto f = split_ws(trim(line));
  if (f.size() < 10 || f[0].empty() || f[0].back() != ':') return std::nullopt;
  auto local = decode_address(f[1]);
  auto peer = decode_address(f[2]);
  auto st = to_ull(f[3], 16);
  auto inode = to_ull(f[9]);
  if (!local || !peer || !st || !inode) return std::nullopt;
  SocketInfo s;
  s.proto = std::string(proto);
  s.local = *local;
  s.inode = *inode;
  bool tcp = proto.substr(0, 3) == "tcp";
  // udp and raw reuse TCP_CLOSE for "not connected"; "CLOSE" would read as a
  // dead socket, so call it UNCONN like ss does.
  s.state = (!tcp && *st == 7) ? "UNCONN" : tcp_state_name(static_cast<unsigned>(*st));
  // A wildcard remote with port 0 means no peer (listening or unconnected).
  bool no_peer = peer->ends_with(":0") && (*peer == "0.0.0.0:0" || *peer == "[::]:0");
  if (!no_peer) s.peer = *peer;
  return s;
}

std::optional<SocketInfo> parse_unix_line(std::string_view line) {
  // Num RefCount Protocol Flags Type St Inode [Path]; the path may hold spaces.
  auto t = trim(line);
  auto f = split_ws(t);
  if (f.size() < 7 || f[0].empty() || f[0].back() != ':') return std::nullopt;
  auto flags = to_ull(f[3], 16);
  auto type = to_ull(f[4], 16);
  auto st = to_ull(f[5], 16);
  auto inode = to_ull(f[6]);
  if (!flags || !type || !st || !inode) return std::nullopt;
  SocketInfo s;
  s.proto = "unix";
  s.inode = *inode;
  if (f.size() > 7) {
    size_t at = static_cast<size_t>(f[7].data() - t.data());
    s.local = std::string(t.substr(at));
  }
  switch (*type) {
    case 1:
      s.type = "stream";
      break;
    case 2:
      s.type = "dgram";
      break;
    case 5:
      s.type = "seqpacket";
      break;
    default:
      s.type = "unknown";
      break;
  }
  // __SO_ACCEPTCON in Flags marks a listening socket; St is the socket_state.
  if (*flags & 0x10000)
    s.state = "LISTEN";
  else if (*st == 3)
    s.state = "ESTABLISHED";
  else if (*st == 2)
    s.state = "CONNECTING";
  else if (*st == 4)
    s.state = "DISCONNECTING";
  else
    s.state = "UNCONN";
  return s;
}

std::optional<SocketInfo> parse_netlink_line(std::string_view line) {
  // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  auto f = split_ws(trim(line));
  if (f.size() < 10) return std::nullopt;
  auto family = to_ull(f[1]);
  auto portid = to_ull(f[2]);
  auto inode = to_ull(f[9]);
  if (!family || !portid || !inode) return std::nullopt;
  SocketInfo s;
  s.proto = "netlink";
  s.local = "family " + std::to_string(*family) + " portid " + std::to_string(*portid);
  s.state = "UNCONN";
  s.inode = *inode;
  return s;
}

void SocketTable::add(SocketInfo s) {
  auto inode = s.inode;
  by_inode_.emplace(inode, std::move(s));
}

const SocketInfo* SocketTable::find(uint64_t inode) const {
  auto it = by_inode_.find(inode);
  return it == by_inode_.end() ? nullptr : &it->second;
}

SocketTable SocketTable::load(int pid, std::vector<std::string>* notes) {
  SocketTable t;
  std::string base = "/proc/" + std::to_string(pid) + "/net/";
  for (const char* proto : {"tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix", "netlink"}) {
    // Bounded: a busy server's tables can be large, but not 64 MiB.
    auto text = read_file(base + proto, 64 << 20);
    if (!text) {
      // No IPv6 in the kernel (or that namespace) simply means no such sockets.
      if (text.error().sys_errno != ENOENT && notes)
        notes->push_back("socket table " + std::string(proto) + ": " + text.error().message);
      continue;
    }
    std::string_view p(proto);
    for (auto line : split_char(*text, '\n')) {
      std::optional<SocketInfo> s;
      if (p == "unix")
        s = parse_unix_line(line);
      else if (p == "netlink")
        s = parse_netlink_line(line);
      else
        s = parse_inet_line(p, line);
      if (s) t.add(std::move(*s));
    }
  }
  return t;
}

std::optional<uint64_t> netns_inode(int pid) {
  struct stat st;
  if (::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.st_ino);
}

const SocketInfo* SocketCache::find(int pid, uint64_t inode) {
  // pid's namespace as last seen: a hit then costs no syscall at all. Socket
  // inodes are unique across namespaces, so a namespace that changed since
  // can only cost a miss, which reads pid's namespace again below.
  auto known = ns_of_.find(pid);
  if (known != ns_of_.end())
    if (auto t = by_ns_.find(known->second); t != by_ns_.end())
      if (const SocketInfo* s = t->second.find(inode)) return s;
  constexpr long kMissRetryMs = 1000;
  long now = monotonic_ms();
  if (auto m = missed_.find(inode); m != missed_.end() && now - m->second < kMissRetryMs)
    return nullptr;
  auto ns = netns_inode(pid);
  if (!ns) return nullptr;
  ns_of_[pid] = *ns;
  // First use of this namespace, or a socket made since its last read.
  SocketTable& t = by_ns_[*ns];
  t = SocketTable::load(pid, nullptr);
  ++loads_;
  const SocketInfo* s = t.find(inode);
  if (s) {
    missed_.erase(inode);
  } else {
    if (missed_.size() >= 4096) missed_.clear();  // bounded: at worst, more reads
    missed_[inode] = now;
  }
  return s;
}

void SocketCache::forget(uint64_t inode) {
  for (auto& [ns, t] : by_ns_) t.erase(inode);
  missed_.erase(inode);
}

}  // namespace sonde::proc
