#include "sonde/net/flows.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "sonde/net/dns.h"

namespace sonde::net {
namespace {

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

// Sequence numbers wrap: compare them as a signed distance (RFC 1982).
int32_t seq_diff(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b);
}

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;
constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmp6 = 58;
constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd;
// 802.1Q, 802.1ad (QinQ) and the old pre-standard QinQ tag.
bool is_vlan(uint16_t t) {
  return t == 0x8100 || t == 0x88a8 || t == 0x9100;
}

double us_to_ms(int64_t us) {
  return static_cast<double>(us) / 1000.0;
}

std::optional<double> ms_if_seen(int64_t us) {
  if (us < 0) return std::nullopt;
  return us_to_ms(us);
}

}  // namespace

int linktype_from_dlt(int dlt) {
  // DLT_RAW is 12 on Linux and most BSDs, 14 on OpenBSD; files say 101.
  if (dlt == 12 || dlt == 14) return linktype::kRaw;
  return dlt;
}

std::string linktype_name(int lt) {
  switch (lt) {
    case linktype::kNull:
      return "NULL";
    case linktype::kEthernet:
      return "EN10MB";
    case linktype::kRaw:
      return "RAW";
    case linktype::kLoop:
      return "LOOP";
    case linktype::kLinuxSll:
      return "LINUX_SLL";
    case linktype::kLinuxSll2:
      return "LINUX_SLL2";
    case linktype::kIpv4:
      return "IPV4";
    case linktype::kIpv6:
      return "IPV6";
    case 105:
      return "IEEE802_11";
    case 127:
      return "IEEE802_11_RADIO";
    case 147:
      return "USER0";
    case 239:
      return "NFLOG";
    default:
      return "LINKTYPE_" + std::to_string(lt);
  }
}

bool linktype_supported(int lt) {
  switch (lt) {
    case linktype::kNull:
    case linktype::kEthernet:
    case linktype::kRaw:
    case linktype::kLoop:
    case linktype::kLinuxSll:
    case linktype::kLinuxSll2:
    case linktype::kIpv4:
    case linktype::kIpv6:
      return true;
    default:
      return false;
  }
}

bool Endpoint::operator<(const Endpoint& o) const {
  if (family != o.family) return family < o.family;
  if (addr != o.addr) return addr < o.addr;
  return port < o.port;
}

std::string Endpoint::ip() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 4) ::inet_ntop(AF_INET, addr.data(), buf, sizeof buf);
  if (family == 6) ::inet_ntop(AF_INET6, addr.data(), buf, sizeof buf);
  return buf;
}

std::string Endpoint::to_string() const {
  // fmt, not `"[" + string`: GCC 12 -O3's false -Wrestrict (bug 105651).
  if (family == 6) return fmt::format("[{}]:{}", ip(), port);
  return ip() + ":" + std::to_string(port);
}

std::string TcpFlow::state() const {
  if (rsts.client && rsts.server) return "reset by both";
  if (rsts.client) return "reset by client";
  if (rsts.server) return "reset by server";
  if (fins.client && fins.server) return "closed";
  if (syns.client && !syns.server && packets.server == 0)
    return syns.client > 1 ? "SYN unanswered (" + std::to_string(syns.client) + " tries)"
                           : "SYN unanswered";
  if (fins.client) return "closing (FIN from client)";
  if (fins.server) return "closing (FIN from server)";
  return initiator_known ? "open" : "open (started before the capture)";
}

size_t FlowAnalyzer::KeyHash::operator()(const Key& k) const {
  // FNV-1a over the fields that make the key.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ull;
    }
  };
  for (const Endpoint* e : {&k.a, &k.b}) {
    mix(e->addr.data(), e->addr.size());
    uint8_t extra[3] = {e->family, static_cast<uint8_t>(e->port >> 8),
                        static_cast<uint8_t>(e->port)};
    mix(extra, sizeof extra);
  }
  mix(&k.proto, 1);
  return static_cast<size_t>(h);
}

void FlowAnalyzer::add(int64_t ts, int lt, const uint8_t* p, size_t caplen, size_t orig_len) {
  ++totals_.packets;
  totals_.bytes += orig_len;
  if (orig_len < caplen) orig_len = caplen;  // a broken record: trust what we hold
  if (!p) caplen = 0;
  auto undecoded = [&] { ++totals_.undecoded; };
  size_t hdr = 0;
  uint16_t ethertype = 0;
  switch (lt) {
    case linktype::kEthernet:
      if (caplen < 14) return undecoded();
      ethertype = be16(p + 12);
      hdr = 14;
      break;
    case linktype::kLinuxSll:
      if (caplen < 16) return undecoded();
      ethertype = be16(p + 14);
      hdr = 16;
      break;
    case linktype::kLinuxSll2:
      if (caplen < 20) return undecoded();
      ethertype = be16(p);
      hdr = 20;
      break;
    case linktype::kNull:
    case linktype::kLoop: {
      if (caplen < 4) return undecoded();
      // The address family in host order (NULL) or network order (LOOP); as
      // the file may come from another machine, accept either. IPv6 is 10 on
      // Linux, 24/28/30 on the BSDs and macOS.
      uint32_t le = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                    static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
      uint32_t af = le < 256 ? le : be32(p);
      if (af == 2)
        ethertype = kEtherIpv4;
      else if (af == 10 || af == 24 || af == 28 || af == 30)
        ethertype = kEtherIpv6;
      hdr = 4;
      break;
    }
    case linktype::kRaw:
    case 12:
    case 14:
    case linktype::kIpv4:
    case linktype::kIpv6:
      ip(ts, p, caplen, orig_len, orig_len);
      return;
    default:
      ++totals_.other;
      return;
  }
  // VLAN tags (bounded: QinQ is two deep, tolerate a third).
  for (int i = 0; i < 3 && is_vlan(ethertype); ++i) {
    if (caplen < hdr + 4) return undecoded();
    ethertype = be16(p + hdr + 2);
    hdr += 4;
  }
  if (ethertype != kEtherIpv4 && ethertype != kEtherIpv6) {
    ++totals_.other;
    return;
  }
  ip(ts, p + hdr, caplen - hdr, orig_len - hdr, orig_len);
}

void FlowAnalyzer::ip(int64_t ts, const uint8_t* p, size_t caplen, size_t wire_len,
                      size_t orig_len) {
  if (caplen < 1) {
    ++totals_.undecoded;
    return;
  }
  int version = p[0] >> 4;
  if (version == 4) return ipv4(ts, p, caplen, wire_len, orig_len);
  if (version == 6) return ipv6(ts, p, caplen, wire_len, orig_len);
  ++totals_.undecoded;
}

void FlowAnalyzer::ipv4(int64_t ts, const uint8_t* p, size_t caplen, size_t wire_len,
                        size_t orig_len) {
  ++totals_.ipv4;
  if (caplen < 20) {
    ++totals_.undecoded;
    return;
  }
  size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
  size_t total = be16(p + 2);
  // Segmentation offload on the sending host hands the capture one packet
  // larger than 64 KiB with a total length of 0: the wire length tells.
  if (total == 0) total = wire_len;
  if (ihl < 20 || ihl > caplen || total < ihl) {
    ++totals_.undecoded;
    return;
  }
  uint16_t frag = be16(p + 6);
  if ((frag & 0x1fff) != 0) {
    // Not the first fragment: no transport header to see.
    ++totals_.fragments;
    return;
  }
  L4 pkt;
  pkt.ts = ts;
  pkt.orig_len = orig_len;
  pkt.proto = p[9];
  pkt.src.family = pkt.dst.family = 4;
  std::memcpy(pkt.src.addr.data(), p + 12, 4);
  std::memcpy(pkt.dst.addr.data(), p + 16, 4);
  // Ethernet pads short frames: the IP length, not the capture, ends the packet.
  size_t held = std::min(caplen, total);
  pkt.l4 = p + ihl;
  pkt.l4_caplen = held - ihl;
  pkt.l4_len = total - ihl;
  transport(pkt);
}

void FlowAnalyzer::ipv6(int64_t ts, const uint8_t* p, size_t caplen, size_t wire_len,
                        size_t orig_len) {
  ++totals_.ipv6;
  if (caplen < 40) {
    ++totals_.undecoded;
    return;
  }
  size_t plen = be16(p + 4);
  // A zero payload length is a jumbogram or a big TCP (offloaded) packet.
  if (plen == 0) plen = wire_len >= 40 ? wire_len - 40 : 0;
  size_t total = 40 + plen;
  size_t held = std::min(caplen, total);
  uint8_t next = p[6];
  size_t off = 40;
  // Extension headers, bounded: a chain longer than this is not worth
  // following on a production host.
  for (int i = 0; i < 8; ++i) {
    if (next == 0 || next == 43 || next == 60 || next == 51 || next == 44) {
      if (held < off + 8) {
        ++totals_.undecoded;
        return;
      }
      size_t len = next == 51   ? (static_cast<size_t>(p[off + 1]) + 2) * 4
                   : next == 44 ? 8
                                : (static_cast<size_t>(p[off + 1]) + 1) * 8;
      if (next == 44 && (be16(p + off + 2) & 0xfff8) != 0) {
        ++totals_.fragments;
        return;
      }
      next = p[off];
      off += len;
      if (off > held) {
        ++totals_.undecoded;
        return;
      }
      continue;
    }
    break;
  }
  if (next == 0 || next == 43 || next == 60 || next == 51 || next == 44) {
    ++totals_.undecoded;  // the chain was longer than we follow
    return;
  }
  L4 pkt;
  pkt.ts = ts;
  pkt.orig_len = orig_len;
  pkt.proto = next;
  pkt.src.family = pkt.dst.family = 6;
  std::memcpy(pkt.src.addr.data(), p + 8, 16);
  std::memcpy(pkt.dst.addr.data(), p + 24, 16);
  pkt.l4 = p + off;
  pkt.l4_caplen = held - off;
  pkt.l4_len = total - off;
  transport(pkt);
}

void FlowAnalyzer::transport(const L4& pkt) {
  switch (pkt.proto) {
    case kProtoTcp:
      return tcp(pkt);
    case kProtoUdp:
      return udp(pkt);
    case kProtoIcmp:
    case kProtoIcmp6:
      ++totals_.icmp;
      return;
    default:
      ++totals_.other;
      return;
  }
}

long FlowAnalyzer::flow_index(const Key& k, bool* created) {
  *created = false;
  if (auto it = index_.find(k); it != index_.end()) return static_cast<long>(it->second);
  if (tcp_.size() + udp_.size() >= limits_.max_flows) {
    if (untracked_.size() < 4 * limits_.max_flows && untracked_.insert(k).second)
      ++totals_.flows_not_tracked;
    return -1;
  }
  *created = true;
  size_t idx = k.proto == kProtoTcp ? tcp_.size() : udp_.size();
  index_.emplace(k, idx);
  return static_cast<long>(idx);
}

void FlowAnalyzer::tcp(const L4& pkt) {
  ++totals_.tcp;
  if (pkt.l4_caplen < 20) {
    ++totals_.undecoded;
    return;
  }
  const uint8_t* t = pkt.l4;
  size_t doff = static_cast<size_t>(t[12] >> 4) * 4;
  if (doff < 20 || doff > pkt.l4_len) {
    ++totals_.undecoded;
    return;
  }
  Endpoint src = pkt.src, dst = pkt.dst;
  src.port = be16(t);
  dst.port = be16(t + 2);
  uint32_t seq = be32(t + 4);
  uint8_t flags = t[13];
  uint16_t window = be16(t + 14);
  uint64_t plen = pkt.l4_len - doff;
  bool syn = flags & kSyn, ack = flags & kAck, fin = flags & kFin, rst = flags & kRst;

  Key k;
  k.proto = kProtoTcp;
  k.a = std::min(src, dst);
  k.b = std::max(src, dst);
  bool created = false;
  long idx = flow_index(k, &created);
  if (idx < 0) {
    ++totals_.untracked_packets;
    return;
  }
  if (!created && syn && !ack) {
    // The same 4-tuple reused for a new connection after the old one ended
    // (a new ISN): a new flow.
    TcpFlow& old = tcp_[static_cast<size_t>(idx)];
    bool ended = old.rsts.client || old.rsts.server || (old.fins.client && old.fins.server);
    if (ended && !(old.syns.client && seq == old.client_isn)) {
      if (tcp_.size() + udp_.size() >= limits_.max_flows) {
        // No room for the new connection: its packets are untracked from now.
        index_.erase(k);
        if (untracked_.size() < 4 * limits_.max_flows && untracked_.insert(k).second)
          ++totals_.flows_not_tracked;
        ++totals_.untracked_packets;
        return;
      }
      idx = static_cast<long>(tcp_.size());
      index_[k] = tcp_.size();
      created = true;
    }
  }
  if (created) {
    TcpFlow f;
    if (syn && !ack) {
      f.client = src, f.server = dst, f.initiator_known = true;
    } else if (syn && ack) {
      f.client = dst, f.server = src, f.initiator_known = true;
    } else if (src.port > dst.port || (src.port == dst.port && dst < src)) {
      // Mid-stream: the higher port is most likely the ephemeral one.
      f.client = src, f.server = dst;
    } else {
      f.client = dst, f.server = src;
    }
    f.first_us = pkt.ts;
    tcp_.push_back(f);
  }
  TcpFlow& f = tcp_[static_cast<size_t>(idx)];
  const int dir = src == f.client ? 0 : 1;
  auto side = [dir](Both& b) -> uint64_t& { return dir == 0 ? b.client : b.server; };
  f.last_us = std::max(f.last_us, pkt.ts);
  ++side(f.packets);
  side(f.bytes) += pkt.orig_len;
  side(f.payload) += plen;
  if (rst) ++side(f.rsts);
  if (fin) ++side(f.fins);
  if (window == 0 && !(flags & (kSyn | kFin | kRst))) ++side(f.zero_windows);

  if (syn) {
    ++side(f.syns);
    if (side(f.syns) > 1) ++side(f.retransmissions);
    if (!ack) {
      f.syn_us = pkt.ts;
      f.client_isn = seq;
    } else {
      f.synack_us = pkt.ts;
      // From the latest SYN: a retried SYN's answer belongs to that retry.
      if (f.syn_us >= 0) f.syn_to_synack_us = pkt.ts - f.syn_us;
    }
    f.seq_known[dir] = true;
    f.next_seq[dir] = seq + 1 + static_cast<uint32_t>(plen);
    return;
  }
  if (ack && dir == 0 && f.synack_us >= 0 && f.synack_to_ack_us < 0)
    f.synack_to_ack_us = pkt.ts - f.synack_us;
  if (rst) return;  // a RST's sequence number says nothing about retransmission

  uint32_t seq_len = static_cast<uint32_t>(plen) + (fin ? 1 : 0);
  uint32_t end = seq + seq_len;
  if (!f.seq_known[dir]) {
    f.seq_known[dir] = true;
    f.next_seq[dir] = end;
    return;
  }
  if (seq_len == 0) return;
  // A keep-alive probes with one old byte (or none) at next_seq - 1; tshark
  // does not call it a retransmission either.
  bool keepalive = plen <= 1 && !fin && seq == f.next_seq[dir] - 1;
  if (!keepalive && seq_diff(seq, f.next_seq[dir]) < 0) ++side(f.retransmissions);
  if (seq_diff(end, f.next_seq[dir]) > 0) f.next_seq[dir] = end;
}

void FlowAnalyzer::udp(const L4& pkt) {
  ++totals_.udp;
  if (pkt.l4_caplen < 8) {
    ++totals_.undecoded;
    return;
  }
  const uint8_t* u = pkt.l4;
  size_t ulen = be16(u + 4);
  if (ulen == 0) ulen = pkt.l4_len;  // IPv6 jumbogram
  if (ulen < 8) {
    ++totals_.undecoded;
    return;
  }
  ulen = std::min(ulen, pkt.l4_len);
  Endpoint src = pkt.src, dst = pkt.dst;
  src.port = be16(u);
  dst.port = be16(u + 2);
  uint64_t plen = ulen - 8;
  Key k;
  k.proto = kProtoUdp;
  k.a = std::min(src, dst);
  k.b = std::max(src, dst);
  bool created = false;
  long idx = flow_index(k, &created);
  if (idx < 0) {
    ++totals_.untracked_packets;
  } else {
    if (created) {
      UdpFlow f;
      f.client = src;
      f.server = dst;
      f.first_us = pkt.ts;
      udp_.push_back(f);
    }
    UdpFlow& f = udp_[static_cast<size_t>(idx)];
    bool from_client = src == f.client;
    f.last_us = std::max(f.last_us, pkt.ts);
    (from_client ? f.packets.client : f.packets.server) += 1;
    (from_client ? f.bytes.client : f.bytes.server) += pkt.orig_len;
    (from_client ? f.payload.client : f.payload.server) += plen;
  }
  if (src.port == 53 || dst.port == 53) {
    size_t held = std::min<size_t>(pkt.l4_caplen - 8, plen);
    L4 d = pkt;
    d.src = src;
    d.dst = dst;
    dns_packet(d, u + 8, held);
  }
}

void FlowAnalyzer::dns_packet(const L4& pkt, const uint8_t* payload, size_t len) {
  auto msg = dns_decode(payload, len);
  if (!msg) {
    ++totals_.dns_undecodable;
    return;
  }
  const Endpoint& client = msg->response ? pkt.dst : pkt.src;
  const Endpoint& server = msg->response ? pkt.src : pkt.dst;
  std::string key = client.to_string() + "|" + server.to_string() + "|" + std::to_string(msg->id);
  auto it = dns_open_.find(key);
  DnsSeen* d = nullptr;
  if (it != dns_open_.end()) {
    d = &dns_[it->second];
    // A new query with an id already answered is a new transaction.
    if (!msg->response && d->responses > 0) d = nullptr;
  }
  if (!d) {
    if (dns_.size() >= limits_.max_dns) {
      ++totals_.dns_not_tracked;
      return;
    }
    dns_.emplace_back();
    d = &dns_.back();
    d->client = client;
    d->server = server;
    d->id = msg->id;
    if (!msg->questions.empty()) {
      d->name = msg->questions[0].name;
      d->type = msg->questions[0].type;
    }
    dns_open_[key] = dns_.size() - 1;
  }
  if (!msg->response) {
    if (d->query_us < 0) d->query_us = pkt.ts;
    ++d->queries;
    return;
  }
  ++d->responses;
  if (d->answer_us >= 0) return;  // a duplicate answer: the first one counts
  d->answer_us = pkt.ts;
  d->rcode = dns_rcode_name(msg->rcode);
  d->truncated = msg->truncated;
  for (const auto& a : msg->answers) {
    if (d->answers.size() >= 16) break;
    d->answers.push_back(dns_type_name(a.type) + " " + a.data);
  }
}

TrafficSummary FlowAnalyzer::summary(size_t top_flows, size_t max_dns_shown) const {
  TrafficSummary t;
  t.totals = totals_;

  std::vector<const TcpFlow*> tcp;
  for (const auto& f : tcp_) tcp.push_back(&f);
  std::stable_sort(tcp.begin(), tcp.end(), [](const TcpFlow* a, const TcpFlow* b) {
    return a->total_bytes() > b->total_bytes();
  });
  for (size_t i = 0; i < tcp.size() && i < top_flows; ++i) {
    const TcpFlow& f = *tcp[i];
    int64_t rtt = f.syn_to_synack_us >= 0 && f.synack_to_ack_us >= 0
                      ? f.syn_to_synack_us + f.synack_to_ack_us
                      : -1;
    TcpFlowSummary s;
    s.client = f.client.to_string();
    s.server = f.server.to_string();
    s.initiator_known = f.initiator_known;
    s.first_us = f.first_us;
    s.duration_ms = us_to_ms(f.last_us - f.first_us);
    s.packets = f.packets;
    s.bytes = f.bytes;
    s.payload = f.payload;
    s.retransmissions = f.retransmissions;
    s.rsts = f.rsts;
    s.zero_windows = f.zero_windows;
    s.fins = f.fins;
    s.syns = f.syns;
    s.syn_to_synack_ms = ms_if_seen(f.syn_to_synack_us);
    s.synack_to_ack_ms = ms_if_seen(f.synack_to_ack_us);
    s.rtt_ms = ms_if_seen(rtt);
    s.state = f.state();
    t.tcp_flows.push_back(std::move(s));
  }
  t.tcp_flows_total = tcp_.size();

  std::vector<const UdpFlow*> udp;
  for (const auto& f : udp_) udp.push_back(&f);
  std::stable_sort(udp.begin(), udp.end(), [](const UdpFlow* a, const UdpFlow* b) {
    return a->total_bytes() > b->total_bytes();
  });
  for (size_t i = 0; i < udp.size() && i < top_flows; ++i) {
    const UdpFlow& f = *udp[i];
    t.udp_flows.push_back({f.client.to_string(), f.server.to_string(), f.first_us,
                           us_to_ms(f.last_us - f.first_us), f.packets, f.bytes, f.payload});
  }
  t.udp_flows_total = udp_.size();

  for (size_t i = 0; i < dns_.size() && i < max_dns_shown; ++i) {
    const DnsSeen& d = dns_[i];
    DnsSummary s;
    s.client = d.client.to_string();
    s.server = d.server.to_string();
    s.id = d.id;
    s.name = d.name;
    s.type = dns_type_name(d.type);
    s.queries = d.queries;
    s.responses = d.responses;
    if (d.query_us >= 0) s.query_us = d.query_us;
    if (!d.rcode.empty()) s.rcode = d.rcode;
    s.answers = d.answers;
    s.truncated = d.truncated;
    if (d.query_us >= 0 && d.answer_us >= 0) s.ms = us_to_ms(d.answer_us - d.query_us);
    t.dns.push_back(std::move(s));
  }
  t.dns_total = dns_.size();
  return t;
}

}  // namespace sonde::net
