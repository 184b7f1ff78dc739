// FlowAnalyzer on frames built by hand: a TCP handshake with known
// timestamps, retransmissions, RSTs, zero windows, IPv6 with extension
// headers, every link type we decode, DNS over UDP; then every frame cut at
// every length and 20k random packets (fixed seed): none may crash or be
// read past its end (run it under ASan to see the latter).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>

#include "sonde/net/capture_contract.h"
#include "sonde/net/dns.h"
#include "sonde/net/flows.h"

namespace sonde::net {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
void put32(Bytes& b, size_t at, uint32_t v) {
  put16(b, at, static_cast<uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<uint16_t>(v));
}
void append(Bytes& b, const Bytes& more) {
  b.insert(b.end(), more.begin(), more.end());
}

constexpr uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

struct Seg {
  uint16_t sport = 40000, dport = 80;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = ACK;
  uint16_t window = 65535;
  size_t payload = 0;
};

Bytes tcp_header(const Seg& s) {
  Bytes t(20 + s.payload, 0xab);
  put16(t, 0, s.sport);
  put16(t, 2, s.dport);
  put32(t, 4, s.seq);
  put32(t, 8, s.ack);
  t[12] = 5 << 4;
  t[13] = s.flags;
  put16(t, 14, s.window);
  put32(t, 16, 0);
  return t;
}

Bytes ipv4(const char* src, const char* dst, uint8_t proto, const Bytes& l4, uint16_t frag = 0) {
  Bytes ip(20, 0);
  ip[0] = 0x45;
  put16(ip, 2, static_cast<uint16_t>(20 + l4.size()));
  put16(ip, 6, frag);
  ip[8] = 64;
  ip[9] = proto;
  inet_pton(AF_INET, src, ip.data() + 12);
  inet_pton(AF_INET, dst, ip.data() + 16);
  append(ip, l4);
  return ip;
}

Bytes ipv6(const char* src, const char* dst, uint8_t next, const Bytes& rest) {
  Bytes ip(40, 0);
  ip[0] = 0x60;
  put16(ip, 4, static_cast<uint16_t>(rest.size()));
  ip[6] = next;
  ip[7] = 64;
  inet_pton(AF_INET6, src, ip.data() + 8);
  inet_pton(AF_INET6, dst, ip.data() + 24);
  append(ip, rest);
  return ip;
}

Bytes ether(const Bytes& ip, uint16_t type = 0x0800, bool pad = true) {
  Bytes f(14, 0);
  for (int i = 0; i < 6; ++i) f[i] = 0x02, f[6 + i] = 0x04;
  put16(f, 12, type);
  append(f, ip);
  if (pad && f.size() < 60) f.resize(60, 0);  // minimum Ethernet frame
  return f;
}

Bytes udp(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes u(8, 0);
  put16(u, 0, sport);
  put16(u, 2, dport);
  put16(u, 4, static_cast<uint16_t>(8 + payload.size()));
  append(u, payload);
  return u;
}

// Client 10.0.0.1:40000 → server 10.0.0.2:80, as seen on Ethernet.
struct Conn {
  FlowAnalyzer& a;
  const char* c = "10.0.0.1";
  const char* s = "10.0.0.2";
  uint16_t cport = 40000, sport = 80;
  void from_client(int64_t ts, Seg seg) {
    seg.sport = cport, seg.dport = sport;
    Bytes f = ether(ipv4(c, s, 6, tcp_header(seg)));
    a.add(ts, linktype::kEthernet, f.data(), f.size(), f.size());
  }
  void from_server(int64_t ts, Seg seg) {
    seg.sport = sport, seg.dport = cport;
    Bytes f = ether(ipv4(s, c, 6, tcp_header(seg)));
    a.add(ts, linktype::kEthernet, f.data(), f.size(), f.size());
  }
};

TEST(Flows, HandshakeDataAndCloseAreCountedEachWay) {
  FlowAnalyzer a;
  Conn c{a};
  const int64_t t0 = 1700000000000000;
  c.from_client(t0, {.seq = 1000, .flags = SYN});
  c.from_server(t0 + 500, {.seq = 5000, .ack = 1001, .flags = SYN | ACK});
  c.from_client(t0 + 1700, {.seq = 1001, .ack = 5001});
  c.from_client(t0 + 2000, {.seq = 1001, .ack = 5001, .flags = ACK | PSH, .payload = 100});
  c.from_server(t0 + 3000, {.seq = 5001, .ack = 1101, .flags = ACK | PSH, .payload = 300});
  c.from_client(t0 + 4000, {.seq = 1101, .ack = 5301, .flags = FIN | ACK});
  c.from_server(t0 + 4100, {.seq = 5301, .ack = 1102, .flags = FIN | ACK});
  c.from_client(t0 + 4200, {.seq = 1102, .ack = 5302});

  ASSERT_EQ(a.tcp_flows().size(), 1u);
  const TcpFlow& f = a.tcp_flows()[0];
  EXPECT_EQ(f.client.to_string(), "10.0.0.1:40000");
  EXPECT_EQ(f.server.to_string(), "10.0.0.2:80");
  EXPECT_TRUE(f.initiator_known);
  EXPECT_EQ(f.syn_to_synack_us, 500);
  EXPECT_EQ(f.synack_to_ack_us, 1200);
  EXPECT_EQ(f.packets.client, 5u);
  EXPECT_EQ(f.packets.server, 3u);
  EXPECT_EQ(f.payload.client, 100u);
  EXPECT_EQ(f.payload.server, 300u);
  // Frames: 14 + 20 + 20 + payload, padded to 60.
  EXPECT_EQ(f.bytes.client, 60u * 4 + (54 + 100));
  EXPECT_EQ(f.bytes.server, 60u * 2 + (54 + 300));
  EXPECT_EQ(f.retransmissions.client + f.retransmissions.server, 0u);
  EXPECT_EQ(f.fins.client, 1u);
  EXPECT_EQ(f.fins.server, 1u);
  EXPECT_EQ(f.state(), "closed");
  EXPECT_EQ(f.last_us - f.first_us, 4200);

  json j = to_json(a.summary(10));
  ASSERT_EQ(j["tcp_flows"].size(), 1u);
  EXPECT_DOUBLE_EQ(j["tcp_flows"][0]["handshake"]["rtt_ms"].get<double>(), 1.7);
  EXPECT_DOUBLE_EQ(j["tcp_flows"][0]["handshake"]["syn_to_synack_ms"].get<double>(), 0.5);
  EXPECT_EQ(j["tcp_flows"][0]["payload"]["server"], 300);
  EXPECT_EQ(j["tcp_flows"][0]["state"], "closed");
  EXPECT_EQ(j["packets"], 8);
  EXPECT_EQ(j["tcp"], 8);
  EXPECT_EQ(j["undecoded"], 0);
}

TEST(Flows, RetransmissionsKeepAlivesAndWrap) {
  FlowAnalyzer a;
  Conn c{a};
  // Sequence numbers near the wrap: 2^32 - 50.
  uint32_t isn = 0xffffffceu;
  c.from_client(1, {.seq = isn, .flags = SYN});
  c.from_client(2, {.seq = isn, .flags = SYN});  // SYN retried
  c.from_server(3, {.seq = 7, .ack = isn + 1, .flags = SYN | ACK});
  c.from_client(4, {.seq = isn + 1, .ack = 8});
  c.from_client(5, {.seq = isn + 1, .ack = 8, .payload = 100});    // crosses the wrap
  c.from_client(6, {.seq = isn + 101, .ack = 8, .payload = 100});  // new data
  c.from_client(7, {.seq = isn + 1, .ack = 8, .payload = 100});    // retransmitted
  c.from_client(8, {.seq = isn + 51, .ack = 8, .payload = 100});   // partly old: retransmitted
  c.from_client(9, {.seq = isn + 200, .ack = 8, .payload = 1});    // keep-alive at next-1
  c.from_client(10, {.seq = isn + 201, .ack = 8, .payload = 10});  // new data again
  c.from_server(11, {.seq = 8, .ack = isn + 211});
  c.from_server(12, {.seq = 8, .ack = isn + 211});  // duplicate ACK: not a retransmission
  const TcpFlow& f = a.tcp_flows().at(0);
  EXPECT_EQ(f.syns.client, 2u);
  EXPECT_EQ(f.retransmissions.client, 3u);  // the SYN, two data segments
  EXPECT_EQ(f.retransmissions.server, 0u);
  EXPECT_EQ(f.syn_to_synack_us, 1);  // from the latest SYN
  EXPECT_EQ(f.payload.client, 411u);
}

TEST(Flows, RstAndZeroWindowNameTheSender) {
  FlowAnalyzer a;
  Conn c{a};
  c.from_client(1, {.seq = 1, .flags = SYN});
  c.from_server(2, {.seq = 100, .ack = 2, .flags = SYN | ACK});
  c.from_client(3, {.seq = 2, .ack = 101});
  c.from_client(4, {.seq = 2, .ack = 101, .payload = 1000});
  c.from_server(5, {.seq = 101, .ack = 1002, .window = 0});  // server buffer full
  c.from_server(6, {.seq = 101, .ack = 1002, .window = 0});
  c.from_server(7, {.seq = 101, .ack = 0, .flags = RST, .window = 0});  // not a zero window
  const TcpFlow& f = a.tcp_flows().at(0);
  EXPECT_EQ(f.zero_windows.server, 2u);
  EXPECT_EQ(f.zero_windows.client, 0u);
  EXPECT_EQ(f.rsts.server, 1u);
  EXPECT_EQ(f.rsts.client, 0u);
  EXPECT_EQ(f.state(), "reset by server");
}

TEST(Flows, UnansweredSynAndRefusedConnection) {
  FlowAnalyzer a;
  Conn c{a};
  c.from_client(1, {.seq = 1, .flags = SYN});
  c.from_client(1000001, {.seq = 1, .flags = SYN});
  c.from_client(3000001, {.seq = 1, .flags = SYN});
  Conn r{a, "10.0.0.1", "10.0.0.3", 40001, 443};
  r.from_client(1, {.seq = 9, .flags = SYN});
  r.from_server(2, {.seq = 0, .ack = 10, .flags = RST | ACK});
  ASSERT_EQ(a.tcp_flows().size(), 2u);
  EXPECT_EQ(a.tcp_flows()[0].state(), "SYN unanswered (3 tries)");
  EXPECT_EQ(a.tcp_flows()[0].syn_to_synack_us, -1);
  EXPECT_EQ(a.tcp_flows()[1].state(), "reset by server");
  json j = to_json(a.summary(10));
  EXPECT_TRUE(j["tcp_flows"][0]["handshake"]["rtt_ms"].is_null());
}

TEST(Flows, MidStreamCaptureGuessesTheClientByPort) {
  FlowAnalyzer a;
  Conn c{a};
  c.from_server(1, {.seq = 500, .ack = 7, .payload = 10});
  c.from_client(2, {.seq = 7, .ack = 510});
  const TcpFlow& f = a.tcp_flows().at(0);
  EXPECT_FALSE(f.initiator_known);
  EXPECT_EQ(f.client.port, 40000);
  EXPECT_EQ(f.payload.server, 10u);
  EXPECT_EQ(f.state(), "open (started before the capture)");
}

TEST(Flows, PortReuseAfterCloseIsANewFlow) {
  FlowAnalyzer a;
  Conn c{a};
  c.from_client(1, {.seq = 1, .flags = SYN});
  c.from_server(2, {.seq = 100, .ack = 2, .flags = SYN | ACK});
  c.from_client(3, {.seq = 2, .ack = 101, .flags = RST});
  c.from_client(4, {.seq = 9999, .flags = SYN});
  c.from_server(5, {.seq = 300, .ack = 10000, .flags = SYN | ACK});
  ASSERT_EQ(a.tcp_flows().size(), 2u);
  EXPECT_EQ(a.tcp_flows()[1].syn_to_synack_us, 1);
  EXPECT_EQ(a.tcp_flows()[1].packets.client, 1u);
}

TEST(Flows, FlowTableIsBounded) {
  FlowAnalyzer a(FlowLimits{.max_flows = 3, .max_dns = 2});
  for (uint16_t p = 0; p < 5; ++p) {
    Conn c{a, "10.0.0.1", "10.0.0.2", static_cast<uint16_t>(40000 + p), 80};
    c.from_client(1, {.seq = 1, .flags = SYN});
    c.from_client(2, {.seq = 1, .flags = SYN});
  }
  EXPECT_EQ(a.tcp_flows().size(), 3u);
  EXPECT_EQ(a.totals().flows_not_tracked, 2u);
  EXPECT_EQ(a.totals().untracked_packets, 4u);
}

TEST(Flows, Ipv6WithExtensionHeadersAndFragments) {
  FlowAnalyzer a;
  Bytes tcp = tcp_header({.sport = 50000, .dport = 443, .seq = 1, .flags = SYN});
  // Hop-by-hop (8 bytes) then destination options (16 bytes) then TCP.
  Bytes hbh(8, 0), dst(16, 0);
  hbh[0] = 60;
  hbh[1] = 0;
  dst[0] = 6;
  dst[1] = 1;
  Bytes rest = hbh;
  append(rest, dst);
  append(rest, tcp);
  Bytes f = ether(ipv6("2001:db8::1", "2001:db8::2", 0, rest), 0x86dd);
  a.add(10, linktype::kEthernet, f.data(), f.size(), f.size());
  ASSERT_EQ(a.tcp_flows().size(), 1u);
  EXPECT_EQ(a.tcp_flows()[0].client.to_string(), "[2001:db8::1]:50000");
  EXPECT_EQ(a.tcp_flows()[0].server.to_string(), "[2001:db8::2]:443");

  // A non-first fragment: no ports.
  Bytes frag(8, 0);
  frag[0] = 17;
  put16(frag, 2, 185 << 3);
  Bytes fr = frag;
  append(fr, Bytes(40, 0));
  Bytes f2 = ether(ipv6("2001:db8::1", "2001:db8::2", 44, fr), 0x86dd);
  a.add(11, linktype::kEthernet, f2.data(), f2.size(), f2.size());
  EXPECT_EQ(a.totals().fragments, 1u);
  EXPECT_EQ(a.totals().ipv6, 2u);
  EXPECT_EQ(a.totals().undecoded, 0u);
}

TEST(Flows, Ipv4FirstFragmentCountsLaterOnesDoNot) {
  FlowAnalyzer a;
  Bytes u = udp(5000, 6000, Bytes(100, 1));
  Bytes first = ether(ipv4("10.0.0.1", "10.0.0.2", 17, u, 0x2000));             // MF, offset 0
  Bytes later = ether(ipv4("10.0.0.1", "10.0.0.2", 17, Bytes(80, 2), 0x000e));  // offset 112
  a.add(1, linktype::kEthernet, first.data(), first.size(), first.size());
  a.add(2, linktype::kEthernet, later.data(), later.size(), later.size());
  EXPECT_EQ(a.udp_flows().size(), 1u);
  EXPECT_EQ(a.totals().fragments, 1u);
}

TEST(Flows, EveryLinkTypeReachesTheSameFlow) {
  Bytes ip = ipv4("192.0.2.1", "192.0.2.2", 6,
                  tcp_header({.sport = 33333, .dport = 22, .seq = 5, .flags = SYN}));
  std::vector<std::pair<int, Bytes>> frames;
  frames.push_back({linktype::kEthernet, ether(ip)});
  // 802.1Q and QinQ.
  Bytes vlan(14, 0);
  put16(vlan, 12, 0x88a8);
  vlan.insert(vlan.end(), {0x00, 0x64, 0x81, 0x00, 0x00, 0x0a, 0x08, 0x00});
  append(vlan, ip);
  frames.push_back({linktype::kEthernet, vlan});
  Bytes sll(16, 0);
  put16(sll, 14, 0x0800);
  append(sll, ip);
  frames.push_back({linktype::kLinuxSll, sll});
  Bytes sll2(20, 0);
  put16(sll2, 0, 0x0800);
  append(sll2, ip);
  frames.push_back({linktype::kLinuxSll2, sll2});
  Bytes null_le = {2, 0, 0, 0};
  append(null_le, ip);
  frames.push_back({linktype::kNull, null_le});
  Bytes loop_be = {0, 0, 0, 2};
  append(loop_be, ip);
  frames.push_back({linktype::kLoop, loop_be});
  frames.push_back({linktype::kRaw, ip});
  frames.push_back({linktype::kIpv4, ip});
  for (const auto& [lt, f] : frames) {
    FlowAnalyzer a;
    a.add(1, lt, f.data(), f.size(), f.size());
    ASSERT_EQ(a.tcp_flows().size(), 1u) << linktype_name(lt);
    EXPECT_EQ(a.tcp_flows()[0].client.to_string(), "192.0.2.1:33333") << linktype_name(lt);
    EXPECT_EQ(a.tcp_flows()[0].bytes.client, f.size()) << linktype_name(lt);
  }
  EXPECT_EQ(linktype_from_dlt(12), linktype::kRaw);
  EXPECT_EQ(linktype_from_dlt(113), linktype::kLinuxSll);
  EXPECT_EQ(linktype_name(276), "LINUX_SLL2");
  EXPECT_TRUE(linktype_supported(276));
  EXPECT_FALSE(linktype_supported(127));
}

TEST(Flows, SnaplenCutPacketsStillCountTheirPayload) {
  FlowAnalyzer a;
  Seg s{.sport = 40000, .dport = 80, .seq = 1, .ack = 1, .payload = 1400};
  Bytes f = ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp_header(s)));
  a.add(1, linktype::kEthernet, f.data(), 68, f.size());  // tcpdump's old default snaplen
  ASSERT_EQ(a.tcp_flows().size(), 1u);
  EXPECT_EQ(a.tcp_flows()[0].payload.client, 1400u);
  EXPECT_EQ(a.tcp_flows()[0].bytes.client, f.size());
}

// A DNS response to `query`: QR set, one A answer pointing at the question.
Bytes dns_answer(const Bytes& query, const char* ip, uint8_t rcode = 0) {
  Bytes r = query;
  r[2] |= 0x80;
  r[3] = static_cast<uint8_t>(0x80 | rcode);
  put16(r, 6, rcode ? 0 : 1);
  if (!rcode) {
    r.insert(r.end(), {0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0, 0, 0x0e, 0x10, 0, 4});
    uint8_t a[4];
    inet_pton(AF_INET, ip, a);
    r.insert(r.end(), a, a + 4);
  }
  return r;
}

TEST(Flows, DnsQueriesAndAnswersArePaired) {
  FlowAnalyzer a;
  auto q = dns_encode_query(0x1234, "app.lab.test", dnstype::kA);
  ASSERT_TRUE(q.ok());
  auto send = [&](int64_t ts, const char* src, const char* dst, uint16_t sp, uint16_t dp,
                  const Bytes& payload) {
    Bytes f = ether(ipv4(src, dst, 17, udp(sp, dp, payload)));
    a.add(ts, linktype::kEthernet, f.data(), f.size(), f.size());
  };
  send(1000, "10.0.0.1", "10.0.0.53", 41000, 53, *q);
  send(1000 + 2500, "10.0.0.53", "10.0.0.1", 53, 41000, dns_answer(*q, "198.18.0.5"));
  auto q2 = dns_encode_query(7, "missing.lab.test", dnstype::kAAAA);
  send(5000, "10.0.0.1", "10.0.0.53", 41001, 53, *q2);
  send(6000, "10.0.0.1", "10.0.0.53", 41001, 53, *q2);  // retried
  send(7000, "10.0.0.53", "10.0.0.1", 53, 41001, dns_answer(*q2, "", 3));
  send(8000, "10.0.0.1", "10.0.0.53", 41002, 53, Bytes{1, 2, 3});  // not DNS

  ASSERT_EQ(a.dns().size(), 2u);
  const DnsSeen& d = a.dns()[0];
  EXPECT_EQ(d.name, "app.lab.test.");  // the codec keeps the root dot
  EXPECT_EQ(d.type, dnstype::kA);
  EXPECT_EQ(d.id, 0x1234);
  EXPECT_EQ(d.rcode, "NOERROR");
  ASSERT_EQ(d.answers.size(), 1u);
  EXPECT_EQ(d.answers[0], "A 198.18.0.5");
  EXPECT_EQ(d.answer_us - d.query_us, 2500);
  EXPECT_EQ(d.client.to_string(), "10.0.0.1:41000");
  EXPECT_EQ(d.server.to_string(), "10.0.0.53:53");
  EXPECT_EQ(a.dns()[1].rcode, "NXDOMAIN");
  EXPECT_EQ(a.dns()[1].queries, 2u);
  EXPECT_EQ(a.totals().dns_undecodable, 1u);
  EXPECT_EQ(a.udp_flows().size(), 3u);
  json j = to_json(a.summary(10));
  EXPECT_DOUBLE_EQ(j["dns"][0]["ms"].get<double>(), 2.5);
  EXPECT_EQ(j["dns"][1]["type"], "AAAA");
}

// Every frame kind we build, for the truncation and fuzz tests.
std::vector<std::pair<int, Bytes>> sample_frames() {
  std::vector<std::pair<int, Bytes>> v;
  Bytes tcp4 = ipv4("10.0.0.1", "10.0.0.2", 6, tcp_header({.seq = 1, .payload = 30}));
  auto q = dns_encode_query(9, "x.example", dnstype::kA);
  Bytes dns4 = ipv4("10.0.0.1", "10.0.0.2", 17, udp(1234, 53, dns_answer(*q, "1.2.3.4")));
  Bytes hbh(8, 0);
  hbh[0] = 6;
  append(hbh, tcp_header({.seq = 1, .flags = SYN}));
  Bytes tcp6 = ipv6("::1", "::2", 0, hbh);
  for (const Bytes* ip : {&tcp4, &dns4, &tcp6}) {
    v.push_back({linktype::kEthernet, ether(*ip, ((*ip)[0] >> 4) == 6 ? 0x86dd : 0x0800, false)});
    v.push_back({linktype::kRaw, *ip});
    Bytes sll2(20, 0);
    put16(sll2, 0, ((*ip)[0] >> 4) == 6 ? 0x86dd : 0x0800);
    append(sll2, *ip);
    v.push_back({linktype::kLinuxSll2, sll2});
    Bytes sll(16, 0);
    put16(sll, 14, 0x8100);  // a VLAN tag inside SLL
    sll.insert(sll.end(), {0, 5, static_cast<uint8_t>(((*ip)[0] >> 4) == 6 ? 0x86 : 0x08),
                           static_cast<uint8_t>(((*ip)[0] >> 4) == 6 ? 0xdd : 0x00)});
    append(sll, *ip);
    v.push_back({linktype::kLinuxSll, sll});
  }
  return v;
}

TEST(Flows, EveryTruncationIsSafe) {
  for (const auto& [lt, f] : sample_frames()) {
    FlowAnalyzer a;
    for (size_t n = 0; n <= f.size(); ++n) {
      // An exact-size copy, so ASan sees any read past the end.
      Bytes cut(f.begin(), f.begin() + static_cast<long>(n));
      a.add(static_cast<int64_t>(n), lt, cut.data(), cut.size(), f.size());    // snaplen cut
      a.add(static_cast<int64_t>(n), lt, cut.data(), cut.size(), cut.size());  // a short packet
    }
    EXPECT_EQ(a.totals().packets, 2 * (f.size() + 1));
    (void)to_json(a.summary(100));
  }
  FlowAnalyzer a;
  a.add(0, linktype::kEthernet, nullptr, 0, 0);
  EXPECT_EQ(a.totals().undecoded, 1u);
}

TEST(Flows, RandomPacketsNeverCrash) {
  std::mt19937 rng(20240611);
  auto samples = sample_frames();
  const int kTypes[] = {linktype::kEthernet,  linktype::kRaw,  linktype::kLinuxSll,
                        linktype::kLinuxSll2, linktype::kNull, linktype::kLoop,
                        linktype::kIpv4,      linktype::kIpv6, 127};
  FlowAnalyzer a(FlowLimits{.max_flows = 500, .max_dns = 100});
  for (int i = 0; i < 20000; ++i) {
    Bytes p;
    int lt;
    if (i % 2 == 0) {
      // A valid frame with a few bytes flipped: gets past the first checks.
      const auto& s = samples[rng() % samples.size()];
      lt = s.first;
      p = s.second;
      int flips = 1 + static_cast<int>(rng() % 6);
      for (int k = 0; k < flips; ++k) p[rng() % p.size()] = static_cast<uint8_t>(rng());
      p.resize(rng() % (p.size() + 1));
    } else {
      lt = kTypes[rng() % std::size(kTypes)];
      p.resize(rng() % 200);
      for (auto& b : p) b = static_cast<uint8_t>(rng());
      // Steer some toward IP.
      if (!p.empty() && rng() % 2)
        p[0] = static_cast<uint8_t>((rng() % 2 ? 0x40 : 0x60) | (p[0] & 0x0f));
    }
    size_t orig = p.size() + (rng() % 4 == 0 ? rng() % 70000 : 0);
    a.add(i, lt, p.data(), p.size(), orig);
  }
  EXPECT_EQ(a.totals().packets, 20000u);
  EXPECT_LE(a.tcp_flows().size() + a.udp_flows().size(), 500u);
  EXPECT_LE(a.dns().size(), 100u);
  json j = to_json(a.summary(20));
  EXPECT_LE(j["tcp_flows"].size(), 20u);
  (void)j.dump();
}

}  // namespace
}  // namespace sonde::net
