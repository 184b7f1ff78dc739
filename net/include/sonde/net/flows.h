// What a packet capture saw, summarised: per TCP flow the handshake RTT,
// bytes and packets each way, retransmissions, RSTs, zero windows and FINs;
// per UDP flow packets and bytes; DNS queries and their answers. Pure code:
// it is fed (timestamp, linktype, bytes) per packet, as a pcap file holds
// them, so the agent runs it on live packets and tests on hand-built frames.
// Every length is checked: a garbage packet is counted as undecoded, never
// read past its end.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sonde::net {

// LINKTYPE_* values as a pcap file's header carries them (tcpdump.org
// linktypes). A live capture's DLT_ value goes through linktype_from_dlt.
namespace linktype {
inline constexpr int kNull = 0;  // BSD loopback: 4-byte AF in host order
inline constexpr int kEthernet = 1;
inline constexpr int kRaw = 101;   // bare IPv4/IPv6
inline constexpr int kLoop = 108;  // like kNull, AF in network order
inline constexpr int kLinuxSll = 113;
inline constexpr int kIpv4 = 228;
inline constexpr int kIpv6 = 229;
inline constexpr int kLinuxSll2 = 276;
}  // namespace linktype

// libpcap's DLT_ value → the LINKTYPE_ value a pcap file must carry. They
// differ for a few old types only (DLT_RAW is 12 or 14 by platform, 101 in
// files).
int linktype_from_dlt(int dlt);
// 1 → "EN10MB", 276 → "LINUX_SLL2"; "LINKTYPE_n" for others.
std::string linktype_name(int linktype);
// Whether FlowAnalyzer can decode this link type.
bool linktype_supported(int linktype);

// An address and port, v4 or v6 (v4 in the first 4 bytes).
struct Endpoint {
  std::array<uint8_t, 16> addr{};
  uint8_t family = 0;  // 4 or 6
  uint16_t port = 0;
  bool operator==(const Endpoint& o) const {
    return family == o.family && port == o.port && addr == o.addr;
  }
  bool operator<(const Endpoint& o) const;
  std::string ip() const;         // "198.18.0.2", "fe80::1"
  std::string to_string() const;  // "198.18.0.2:80", "[fe80::1]:80"
};

// Per direction counts: what the client sent and what the server sent.
struct Both {
  uint64_t client = 0;
  uint64_t server = 0;
};

struct TcpFlow {
  // The client is who sent the SYN. When the capture started after the
  // handshake, it is the endpoint with the higher port (usually the
  // ephemeral one) and initiator_known is false.
  Endpoint client, server;
  bool initiator_known = false;
  int64_t first_us = 0, last_us = 0;  // pcap timestamps, microseconds since the epoch
  Both packets;
  Both bytes;    // frame bytes on the wire (the pcap's orig_len), as tshark's conv counts them
  Both payload;  // TCP payload bytes (retransmissions included)
  Both retransmissions;
  Both rsts;          // RST segments sent by each side
  Both zero_windows;  // segments advertising a zero window (not SYN/FIN/RST), by advertiser
  Both fins;
  Both syns;  // SYN (client) and SYN/ACK (server) segments, retransmitted ones included
  // Handshake as seen at the capture point, in microseconds; -1 when that
  // step was not seen. At the client, syn→synack is the network RTT; at the
  // server, synack→ack is.
  int64_t syn_to_synack_us = -1;
  int64_t synack_to_ack_us = -1;

  // For the analyser: the last SYN and SYN/ACK times, sequence tracking.
  int64_t syn_us = -1, synack_us = -1;
  uint32_t client_isn = 0;
  bool seq_known[2] = {false, false};
  uint32_t next_seq[2] = {0, 0};  // highest seq+len seen per direction (0 = client)

  uint64_t total_bytes() const { return bytes.client + bytes.server; }
  // "reset by server", "closed", "SYN unanswered", ...
  std::string state() const;
};

struct UdpFlow {
  Endpoint client, server;  // the client sent the first packet seen
  int64_t first_us = 0, last_us = 0;
  Both packets;
  Both bytes;    // frame bytes (orig_len)
  Both payload;  // UDP payload bytes
  uint64_t total_bytes() const { return bytes.client + bytes.server; }
};

struct DnsSeen {
  int64_t query_us = -1;   // -1: only the response was seen
  int64_t answer_us = -1;  // -1: no response seen
  Endpoint client, server;
  uint16_t id = 0;
  std::string name;  // the first question
  uint16_t type = 0;
  std::string rcode;  // empty until answered
  bool truncated = false;
  std::vector<std::string> answers;  // "A 198.18.0.5", "CNAME www.example."
  uint32_t responses = 0;            // more than 1: duplicate answers
  uint32_t queries = 0;              // more than 1: the client retried
};

// DNS transactions a summary lists (the rest are counted).
inline constexpr size_t kMaxDnsShown = 200;

struct FlowLimits {
  size_t max_flows = 10000;  // TCP and UDP together
  size_t max_dns = 2000;
};

struct FlowTotals {
  uint64_t packets = 0;
  uint64_t bytes = 0;  // orig_len sum
  uint64_t ipv4 = 0, ipv6 = 0, tcp = 0, udp = 0, icmp = 0;
  uint64_t other = 0;              // ARP, other protocols: counted, not analysed
  uint64_t fragments = 0;          // IPv4/IPv6 non-first fragments (no ports to see)
  uint64_t undecoded = 0;          // too short for their headers, or malformed
  uint64_t flows_not_tracked = 0;  // flows beyond max_flows (a lower bound past 4x)
  uint64_t untracked_packets = 0;  // their packets
  uint64_t dns_not_tracked = 0;    // DNS transactions beyond max_dns
  uint64_t dns_undecodable = 0;    // port 53 payloads our codec refused
};

// The summary as a capture reports it: the totals, the top flows by bytes
// (with how many there were), the DNS transactions in time order. Times in
// milliseconds as doubles; optional figures are the steps not seen.
struct TcpFlowSummary {
  std::string client, server;  // "ip:port", "[v6]:port"
  bool initiator_known = false;
  int64_t first_us = 0;
  double duration_ms = 0;
  Both packets, bytes, payload, retransmissions, rsts, zero_windows, fins, syns;
  std::optional<double> syn_to_synack_ms, synack_to_ack_ms, rtt_ms;  // the handshake
  std::string state;
};

struct UdpFlowSummary {
  std::string client, server;
  int64_t first_us = 0;
  double duration_ms = 0;
  Both packets, bytes, payload;
};

struct DnsSummary {
  std::string client, server;
  uint16_t id = 0;
  std::string name;
  std::string type;  // "A", "TYPE99"
  uint32_t queries = 0, responses = 0;
  std::optional<int64_t> query_us;   // none: only the response was seen
  std::optional<std::string> rcode;  // none: no response seen
  std::vector<std::string> answers;
  bool truncated = false;
  std::optional<double> ms;  // query to answer, when both were seen
};

struct TrafficSummary {
  FlowTotals totals;
  std::vector<TcpFlowSummary> tcp_flows;
  uint64_t tcp_flows_total = 0;
  std::vector<UdpFlowSummary> udp_flows;
  uint64_t udp_flows_total = 0;
  std::vector<DnsSummary> dns;
  uint64_t dns_total = 0;
};

class FlowAnalyzer {
 public:
  explicit FlowAnalyzer(FlowLimits limits = {}) : limits_(limits) {}

  // One packet: ts in microseconds, the pcap LINKTYPE_ value, the captured
  // bytes and the original length on the wire (>= data.size()).
  void add(int64_t ts_us, int linktype, const uint8_t* data, size_t caplen, size_t orig_len);

  const FlowTotals& totals() const { return totals_; }
  const std::vector<TcpFlow>& tcp_flows() const { return tcp_; }
  const std::vector<UdpFlow>& udp_flows() const { return udp_; }
  const std::vector<DnsSeen>& dns() const { return dns_; }

  // The top_flows TCP and UDP flows by bytes, the first max_dns_shown DNS
  // transactions. Its JSON form is in capture_contract.h.
  TrafficSummary summary(size_t top_flows, size_t max_dns_shown = kMaxDnsShown) const;

 private:
  struct Key {
    Endpoint a, b;  // a < b
    uint8_t proto = 0;
    bool operator==(const Key& o) const { return proto == o.proto && a == o.a && b == o.b; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct L4 {
    int64_t ts = 0;
    size_t orig_len = 0;
    Endpoint src, dst;
    uint8_t proto = 0;
    const uint8_t* l4 = nullptr;  // the transport header, l4_caplen bytes captured
    size_t l4_caplen = 0;
    size_t l4_len = 0;  // its length per the IP header (may exceed what was captured)
  };

  void ip(int64_t ts, const uint8_t* p, size_t caplen, size_t wire_len, size_t orig_len);
  void ipv4(int64_t ts, const uint8_t* p, size_t caplen, size_t wire_len, size_t orig_len);
  void ipv6(int64_t ts, const uint8_t* p, size_t caplen, size_t wire_len, size_t orig_len);
  void transport(const L4& pkt);
  void tcp(const L4& pkt);
  void udp(const L4& pkt);
  void dns_packet(const L4& pkt, const uint8_t* payload, size_t len);
  // The flow slot for this key, or -1 when the table is full.
  long flow_index(const Key& k, bool* created);

  FlowLimits limits_;
  FlowTotals totals_;
  std::vector<TcpFlow> tcp_;
  std::vector<UdpFlow> udp_;
  std::vector<DnsSeen> dns_;
  std::unordered_map<Key, size_t, KeyHash> index_;  // → tcp_ or udp_ by proto
  // Flows seen after the table filled, to count each once (itself bounded:
  // past 4 × max_flows the count is a lower bound).
  std::unordered_set<Key, KeyHash> untracked_;
  std::unordered_map<std::string, size_t> dns_open_;  // client|server|id → dns_
};

}  // namespace sonde::net
