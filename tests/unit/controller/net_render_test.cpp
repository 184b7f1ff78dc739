// The text of the network checks (dns, connect, tls, speed, capture,
// diagnose) for fixed typed results: the columns are printf's, and hostile
// strings are neutralised.
#include <gtest/gtest.h>

#include "sonde/net/connect.h"
#include "sonde/net/speed_report.h"
#include "sonde/net/tls_contract.h"
#include "sonde/render/capture.h"
#include "sonde/render/connect.h"
#include "sonde/render/diagnose.h"
#include "sonde/render/dns.h"
#include "sonde/render/fleet.h"
#include "sonde/render/sides.h"
#include "sonde/render/speed.h"
#include "sonde/render/tls.h"

using namespace sonde;

TEST(NetRender, DnsSide) {
  json r = {{"host", "web1"},
            {"query", {{"type", "A"}, {"name", "db.example"}}},
            {"system", {{"addresses", {"10.0.0.5", "10.0.0.6"}}, {"ms", 3}}},
            {"nameservers",
             {{{"server", "10.0.0.2:53"},
               {"rcode", "NOERROR"},
               {"ms", 2},
               {"truncated_retried", true},
               {"answers",
                {{{"name", "db.example"}, {"type", "A"}, {"ttl", 300}, {"data", "10.0.0.5"}}}}},
              {{"server", "10.0.0.3:53"}, {"error", "timed out"}, {"ms", 2000}}}},
            {"search", {"example", "corp"}},
            {"notes", {"odd \x1b[31mnote"}}};
  EXPECT_EQ(render::render_dns_side("local", r),
            "== local (host web1, A db.example) ==\n"
            "  system resolver: 10.0.0.5, 10.0.0.6 (3 ms)\n"
            "  nameserver 1 10.0.0.2:53: NOERROR (2 ms, retried over TCP)\n"
            "    db.example                       A           300  10.0.0.5\n"
            "  nameserver 2 10.0.0.3:53: error: timed out (2000 ms)\n"
            "  search: example corp\n"
            "  note: odd ?[31mnote\n");
  EXPECT_EQ(render::render_dns_side("x", json::object()),
            "== x (host ?,  ) ==\n"
            "  system resolver:  (0 ms)\n"
            "  no nameservers (resolv.conf lists none)\n");
}

TEST(NetRender, SidesAndDifferences) {
  auto side = [](const std::string& label, const json& r) {
    return label + ": " + r.value("v", "") + "\n";
  };
  std::vector<json> two = {{{"side", "local"}, {"result", {{"v", "a"}}}},
                           {{"side", "web1"}, {"result", {{"v", "b"}}}}};
  EXPECT_EQ(render::render_sides(two, side, {}), "local: a\n\nweb1: b\n\ndifferences: none\n");
  EXPECT_EQ(render::render_sides(two, side, {"local says a, web1 says b"}),
            "local: a\n\nweb1: b\n\ndifferences:\n  - local says a, web1 says b\n");
  EXPECT_EQ(render::render_sides({two[0]}, side, {}), "local: a\n\n");
}

TEST(NetRender, ConnectSide) {
  net::ConnectResult r;
  r.agent_host = "web1";
  r.options.host = "db.example";
  r.options.port = 5432;
  r.addresses = {"10.0.0.5"};
  r.resolve_ms = 1;
  net::Attempt a;
  a.attempt = 1;
  a.address = "10.0.0.5";
  a.verdict = "refused";
  a.ms = 0.5;
  a.source = "10.0.0.9";
  a.detail = "RST";
  r.attempts = {a};
  net::RouteInfo rt;
  rt.destination = "10.0.0.5";
  rt.type = "unicast";
  rt.dev = "eth0";
  rt.prefsrc = "10.0.0.9";
  rt.mtu = 1500;
  r.routes = {rt};
  std::string text = render::render_connect({{"local", r}}, {"only local tried"});
  EXPECT_EQ(
      text,
      "== local (host web1 → db.example:5432) ==\n"
      "  resolves to: 10.0.0.5 (1 ms)\n"
      "  #  address   verdict     time  source    detail\n"
      "  1  10.0.0.5  refused  0.50 ms  10.0.0.9  RST\n"
      "  route to 10.0.0.5: dev eth0, direct, src 10.0.0.9, mtu 1500\n"
      "  meaning: " +
          net::explain(a, "5432") +
          "\n"
          "  summary: db.example:5432 (10.0.0.5) refused (RST) (1/1 attempts), from 10.0.0.9, "
          "via eth0 direct\n"
          "\n"
          "comparison:\n"
          "  - only local tried\n");
}

// Past four sides (--from web[01-40]) connect is one line per side, the
// odd verdicts first, then a tally.
TEST(NetRender, ConnectManySidesIsAMatrixOddOnesFirst) {
  auto side = [](const std::string& verdict, double ms) {
    net::ConnectResult r;
    r.options.host = "db";
    r.options.port = 5432;
    r.addresses = {"10.0.0.5"};
    net::Attempt a;
    a.attempt = 1;
    a.address = "10.0.0.5";
    a.verdict = verdict;
    a.ms = ms;
    a.source = "10.0.0.9:40000";
    a.detail = verdict == "open" ? "" : "no answer in 3000 ms";
    r.attempts = {a};
    return r;
  };
  std::vector<net::Side<net::ConnectResult>> sides;
  for (int i = 1; i <= 5; ++i)
    sides.push_back({"web0" + std::to_string(i), side(i == 4 ? "timeout" : "open", 0.4)});
  std::string text = render::render_connect(sides, {});
  auto line_of = [&](const std::string& label) { return text.find("\n" + label + " "); };
  ASSERT_NE(text.find("SIDE"), std::string::npos) << text;
  ASSERT_NE(line_of("web04"), std::string::npos) << text;
  EXPECT_LT(line_of("web04"), line_of("web01")) << "the odd one first:\n" << text;
  EXPECT_LT(line_of("web01"), line_of("web02")) << text;
  EXPECT_NE(text.find("no answer in 3000 ms"), std::string::npos) << text;
  EXPECT_NE(text.find("5 sides: 4 open, 1 timeout"), std::string::npos) << text;
  // Four sides keep their blocks.
  sides.pop_back();
  EXPECT_NE(render::render_connect(sides, {}).find("== web01"), std::string::npos);
}

TEST(NetRender, TlsSideFailedAndNotTls) {
  net::TlsResult failed;
  failed.agent_host = "web1";
  failed.host = "db.example";
  failed.port = 443;
  failed.sni = "db.example";
  failed.address = "10.0.0.5";
  failed.outcome = "handshake_failed";
  failed.stage = "handshake";
  failed.error = "alert 40";
  failed.connect_ms = 2;
  failed.handshake_ms = 5;
  failed.summary = "no TLS";
  EXPECT_EQ(render::render_tls_side("local", failed),
            "== local (host web1) → db.example:443 (10.0.0.5), SNI db.example ==\n"
            "  FAILED (handshake): alert 40\n"
            "  time     connect 2 ms, handshake 5 ms\n"
            "  summary: no TLS\n");
  net::TlsResult plain;
  plain.agent_host = "web1";
  plain.host = "::1";
  plain.port = 8443;
  plain.outcome = "not_tls";
  plain.error = "the server spoke first";
  plain.banner_seen = true;
  plain.banner_hex = "48 54 54 50";
  plain.banner_bytes = 40;
  plain.hint = "is it HTTP?";
  plain.summary = "not TLS";
  EXPECT_EQ(render::render_tls_side("web1", plain),
            "== web1 (host web1) → [::1]:8443, SNI none ==\n"
            "  NOT TLS: the server spoke first\n"
            "  first bytes: 48 54 54 50 ...\n"
            "  hint: is it HTTP?\n"
            "  summary: not TLS\n");
}

TEST(NetRender, TlsSideHandshake) {
  net::TlsResult r;
  r.agent_host = "h";
  r.host = "a.example";
  r.port = 443;
  r.sni = "a.example";
  r.address = "10.0.0.5";
  r.tls = true;
  r.version = "TLSv1.3";
  r.cipher = "TLS_AES_128_GCM_SHA256";
  r.cipher_bits = 128;
  net::TlsCert c;
  c.subject = "CN=a.example";
  c.issuer = "CN=a.example";
  c.self_signed = true;
  c.dns_names = {"a.example"};
  c.not_before = "2025-01-31T12:00:00Z";
  c.not_after = "2026-01-31T12:00:00Z";
  c.days_left = 10;
  c.key_type = "EC";
  c.key_bits = 256;
  c.signature_algorithm = "ecdsa-with-SHA256";
  c.serial = "01";
  c.sha256 = "AB:CD";
  r.chain = {c};
  r.store_kind = "file";
  r.store_path = "/etc/ssl/certs.pem";
  r.store_certs = 3;
  r.verify_errors = {{0, 18, "self-signed certificate"}};
  r.hostname_ok = true;
  r.hostname_checked = "a.example";
  r.hostname_matched = "DNS:a.example";
  r.connect_ms = 1;
  r.handshake_ms = 4;
  r.summary = "TLS 1.3, does not verify";
  EXPECT_EQ(render::render_tls_side("local", r),
            "== local (host h) → a.example:443 (10.0.0.5), SNI a.example ==\n"
            "  TLS      TLSv1.3, TLS_AES_128_GCM_SHA256 (128 bits), ALPN none, no OCSP staple\n"
            "  chain as sent (1):\n"
            "    0 subject  CN=a.example\n"
            "      issuer   CN=a.example (self-signed)\n"
            "      names    DNS:a.example\n"
            "      valid    2025-01-31 12:00:00 UTC → 2026-01-31 12:00:00 UTC (10 days left)\n"
            "      key      EC 256 bits, signed ecdsa-with-SHA256\n"
            "      serial   01\n"
            "      sha256   AB:CD\n"
            "  verify   FAILED against /etc/ssl/certs.pem (3 certificates):\n"
            "           depth 0: self-signed certificate\n"
            "  hostname a.example: OK (matches DNS:a.example)\n"
            "  time     connect 1 ms, handshake 4 ms\n"
            "  summary: TLS 1.3, does not verify\n");
  // Several sides: the blocks, then what differs.
  net::TlsResult other = r;
  other.chain[0].sha256 = "EF:01";
  other.chain[0].issuer = "CN=proxy";
  std::vector<net::Side<net::TlsResult>> sides = {{"local", r}, {"web1", other}};
  std::string text =
      render::render_sides(sides, render::render_tls_side, net::tls_differences(sides));
  EXPECT_NE(text.find("differences:\n  - different certificates: local sees AB:CD (issuer "
                      "CN=a.example), web1 sees EF:01 (issuer CN=proxy): a TLS-intercepting proxy "
                      "on one path?\n"),
            std::string::npos)
      << text;
}

TEST(NetRender, DiagnoseSideAndVerdict) {
  net::DiagnoseSide side{"local",
                         "web1",
                         {{"dns", "ok", "", "db → 10.0.0.5", {}},
                          {"connect", "fail", "refused", "refused", {}},
                          {"tls", "skipped", "", "not run", {}}}};
  EXPECT_EQ(render::render_diagnose_side(side),
            "== local (host web1) ==\n"
            "  dns      ok    db → 10.0.0.5\n"
            "  connect  FAIL  refused\n"
            "  tls      -     not run\n");
  EXPECT_EQ(render::render_diagnose_side({"via", "", {}}), "== via ==\n");
  net::Verdict v;
  v.text = "refused on local";
  v.evidence = {"local: connect refused"};
  EXPECT_EQ(render::render_verdict(v),
            "\nverdict: refused on local\nevidence:\n  - local: connect refused\n");
  v.next = {"is the server listening?"};
  v.evidence.clear();
  EXPECT_EQ(render::render_verdict(v),
            "\nverdict: refused on local\nnext:\n  - is the server listening?\n");
}

TEST(NetRender, Speed) {
  net::SpeedReport r;
  r.target = "web1";
  r.agent_host = "web1.example";
  r.duration_ms = 2000;
  r.rtt_count = 10;
  net::SpeedPath up;
  up.path = "direct";
  up.direction = net::SpeedDirection::kUpload;
  up.status = "ok";
  up.address = "10.0.0.5:5201";
  up.gbps = 9.41;
  up.retransmits = 3;
  up.rtt = {10, 40.0, 50.0, 70.0, 90.0, 60.0};
  up.tcp_info_from = "controller (sender)";
  up.tcp_info = {true, 0, 55, 5, 10, 1448, 1500};
  net::SpeedPath down;
  down.path = "direct";
  down.direction = net::SpeedDirection::kDownload;
  down.address = "10.0.0.5:5201";
  net::set_failed(down, Error{errc::kTimeout, "timed out", "open the port"});
  net::SpeedPath na;
  na.path = "ssh";
  na.status = "n/a";
  na.reason = "local target";
  r.paths = {up, down, na};
  std::string summary = net::speed_summary(r);
  EXPECT_EQ(summary,
            "direct upload 9.41 Gbit/s, rtt median 0.050 ms; direct download failed: timed out; "
            "ssh n/a (local target)");
  EXPECT_EQ(
      render::render_speed(r),
      "speed web1 (agent on web1.example): 2 s per test, 10 round trips\n"
      "path    direction address                        Gbit/s  retransmits  rtt min / median / "
      "p90 / max (ms)\n"
      "direct  upload    10.0.0.5:5201                   9.410            3  0.040 / 0.050 / "
      "0.070 / 0.090\n"
      "                                             tcp (controller (sender)): srtt 0.055 ms, "
      "rttvar 0.005 "
      "ms, cwnd 10, mss 1448, pmtu 1500\n"
      "direct  download  10.0.0.5:5201              failed: timed out\n"
      "                                             hint: open the port\n"
      "ssh     -         n/a (local target)\n"
      "summary: " +
          summary + "\n");
  net::SpeedInterval iv;
  iv.start_s = 0;
  iv.end_s = 1;
  iv.bytes = 1 << 20;
  iv.gbps = 0.008;
  iv.retransmits = 2;
  EXPECT_EQ(render::render_speed_interval("direct upload", iv),
            "  [direct upload]   0.00-  1.00 s       1.0M     0.008 Gbit/s  retr 2\n");
}

// The progress line of a test as it goes: the step before its connection,
// the round trips, the bulk phase with both ends' counts, the wait for the
// receiver's count; then its last line.
TEST(NetRender, SpeedProgress) {
  render::SpeedLive l;
  l.label = "ssh upload";
  l.duration_ms = 10000;
  l.rtt_count = 100;
  l.step = "through web1 to the agent's 127.0.0.1:40000";
  EXPECT_EQ(render::render_speed_progress(l),
            "sonde: ssh upload: through web1 to the agent's 127.0.0.1:40000");
  net::SpeedProgress m;
  m.sender = true;
  l.mine = m;
  EXPECT_EQ(render::render_speed_progress(l), "sonde: ssh upload: timing 100 round trips");
  l.mine->round_trips = 40;
  EXPECT_EQ(render::render_speed_progress(l), "sonde: ssh upload: round trips 40/100");
  l.mine->phase = net::SpeedPhase::kBulk;
  EXPECT_EQ(render::render_speed_progress(l), "sonde: ssh upload: sending for 10 s");
  l.mine->bytes = 3ULL << 30;
  l.mine->seconds = 3.0;
  l.mine->gbps = 8.5;
  net::SpeedProgress a;
  a.phase = net::SpeedPhase::kBulk;
  a.bytes = 2ULL << 30;
  a.seconds = 2.0;
  a.gbps = 0.25;
  l.agent = a;
  EXPECT_EQ(render::render_speed_progress(l),
            "sonde: ssh upload: 3 s of 10 s, 3.0G sent, 8.50 Gbit/s; agent at 2 s: 2.0G "
            "received, 250.0 Mbit/s");
  l.mine->phase = net::SpeedPhase::kTrailer;
  l.mine->seconds = 10.0;
  EXPECT_EQ(render::render_speed_progress(l),
            "sonde: ssh upload: 3.0G sent in 10.0 s; waiting for the receiver's count");

  net::SpeedPath p;
  p.path = "direct";
  p.direction = net::SpeedDirection::kDownload;
  p.status = "ok";
  p.gbps = 9.4;
  p.bytes = 11ULL << 30;
  p.seconds = 10.0;
  EXPECT_EQ(render::render_speed_done(p), "sonde: direct download: 9.40 Gbit/s, 11G in 10.0 s");
  p.status = "failed";
  p.reason = "connection refused";
  EXPECT_EQ(render::render_speed_done(p), "sonde: direct download: failed: connection refused");
}

TEST(NetRender, Capture) {
  net::CaptureResult r;
  r.host = "web1";
  r.interface = "lo";
  r.linktype_name = "EN10MB";
  r.snaplen = 262144;
  r.filter = "tcp port 80";
  r.stopped_by = "count";
  r.elapsed_ms = 1500;
  r.file_bytes = 2048;
  r.stats = {4, 400, true, 8, 0, 0};
  r.traffic.totals.ipv4 = 4;
  r.traffic.totals.tcp = 4;
  net::TcpFlowSummary f;
  f.client = "127.0.0.1:40000";
  f.server = "127.0.0.1:80";
  f.packets = {2, 2};
  f.payload = {100, 2000};
  f.rtt_ms = 0.05;
  f.rsts = {0, 1};
  f.duration_ms = 1200.0;
  f.state = "reset";
  r.traffic.tcp_flows = {f};
  r.traffic.tcp_flows_total = 1;
  net::DnsSummary d;
  d.type = "A";
  d.name = "db.example";
  d.client = "10.0.0.9:5353";
  d.server = "10.0.0.2:53";
  d.id = 7;
  d.queries = 2;
  d.query_us = 1;
  d.rcode = "NOERROR";
  d.answers = {"10.0.0.5"};
  d.ms = 1.5;
  r.traffic.dns = {d};
  r.traffic.dns_total = 1;
  r.notes = {"a note"};
  EXPECT_EQ(
      render::render_capture(r, "out.pcap"),
      "capture on lo at web1 (EN10MB, snaplen 262144), filter: tcp port 80\n"
      "  4 packets, 400B on the wire, in 1.5 s (stopped by count)\n"
      "  kernel: 8 passed the filter (lo counts each packet twice), 0 dropped (buffer "
      "full), 0 dropped by the interface\n"
      "  ipv4 4, ipv6 0, tcp 4, udp 0, icmp 0, other 0, fragments 0, undecoded 0\n"
      "  wrote out.pcap (2.0K): tshark -r out.pcap, or open it in Wireshark\n"
      "\n"
      "TCP flows: 1 (by bytes; c/s = sent by client/server)\n"
      "  CLIENT           SERVER        PKTS c/s  DATA c>s  DATA s>c  RTT ms  RETX c/s  RST     "
      "ZWIN c/s  DUR s  STATE\n"
      "  127.0.0.1:40000  127.0.0.1:80       2/2      100B      2.0K    0.05       0/0  "
      "server       0/0    1.2  reset\n"
      "  (RTT: SYN to the client's ACK as seen here; at the server, most of it is the path "
      "to the client)\n"
      "\n"
      "DNS: 1 query\n"
      "  A db.example (10.0.0.9:5353 > 10.0.0.2:53, id 7, asked 2 times): NOERROR, 10.0.0.5 "
      "(1.50 ms)\n"
      "note: a note\n");
}

// The line of text that starts with `label` and a space; "" when none.
static std::string line_starting(const std::string& text, const std::string& label) {
  size_t at = text.rfind(label + " ", 0) == 0 ? 0 : text.find("\n" + label + " ");
  if (at == std::string::npos) return {};
  if (at) ++at;
  return text.substr(at, text.find('\n', at) - at);
}

TEST(NetRender, DnsManySidesIsAMatrixTheOddAnswerFirst) {
  auto side = [](const std::string& label, json system, json ns) {
    return json{{"side", label},
                {"result",
                 {{"host", label},
                  {"query", {{"type", "A"}, {"name", "db.example"}}},
                  {"system", system},
                  {"nameservers", json::array({ns})}}}};
  };
  json good_ns = {{"server", "10.0.0.2:53"}, {"rcode", "NOERROR"}, {"ms", 1}};
  std::vector<json> sides;
  for (int i = 1; i <= 5; ++i)
    sides.push_back(side("web0" + std::to_string(i),
                         {{"addresses", {i == 3 ? "10.9.9.9" : "10.0.0.5"}}, {"ms", 2}}, good_ns));
  sides.push_back(side("web06", {{"error", "Name or service not known"}, {"ms", 4}},
                       {{"server", "10.0.0.2:53"}, {"rcode", "NXDOMAIN"}, {"ms", 1}}));
  std::string text = render::render_dns_matrix(sides);
  // Both odd ones lead (web03 resolves elsewhere, web06 not at all), then the rest.
  EXPECT_LT(text.find("web03"), text.find("web01")) << text;
  EXPECT_LT(text.find("web06"), text.find("web01")) << text;
  EXPECT_NE(line_starting(text, "web06").find("nxdomain"), std::string::npos) << text;
  EXPECT_NE(line_starting(text, "web03").find("10.9.9.9"), std::string::npos) << text;
  EXPECT_NE(line_starting(text, "web01").find("10.0.0.2:53 NOERROR"), std::string::npos) << text;
  EXPECT_NE(text.find("6 sides: 1 nxdomain, 5 ok"), std::string::npos) << text;
}

TEST(NetRender, TlsManySidesIsAMatrixTheOtherCertificateFirst) {
  auto side = [](const std::string& fp, const std::string& outcome) {
    net::TlsResult r;
    r.outcome = outcome;
    r.ok = outcome == "ok";
    r.tls = true;
    r.hostname_ok = true;
    r.version = "TLSv1.3";
    r.address = "10.0.0.5:443";
    r.total_ms = 3;
    net::TlsCert leaf;
    leaf.subject_cn = "db.example";
    leaf.sha256 = fp;
    r.chain = {leaf};
    if (outcome == "verify_failed") r.verify_errors = {{0, 10, "certificate has expired"}};
    return r;
  };
  std::vector<net::Side<net::TlsResult>> sides;
  for (int i = 1; i <= 5; ++i)
    sides.push_back({"web0" + std::to_string(i), i == 2 ? side("99:88:77:66:55", "verify_failed")
                                                        : side("AB:CD:EF:01:23", "ok")});
  std::string text = render::render_tls_matrix(sides);
  EXPECT_LT(text.find("web02"), text.find("web01")) << text;
  std::string odd = line_starting(text, "web02");
  EXPECT_NE(odd.find("verify_failed"), std::string::npos) << text;
  EXPECT_NE(odd.find("db.example 99:88:77:66"), std::string::npos) << text;
  EXPECT_NE(odd.find("certificate has expired"), std::string::npos) << text;
  EXPECT_NE(text.find("5 sides: 4 ok, 1 verify_failed"), std::string::npos) << text;
}

TEST(NetRender, DiagnoseManySidesIsAMatrixOfTheFirstFailingRung) {
  std::vector<net::DiagnoseSide> sides;
  for (int i = 1; i <= 5; ++i) {
    net::DiagnoseSide s{"web0" + std::to_string(i), "web0" + std::to_string(i), {}};
    s.layers.push_back({"dns", "ok", "", "db → 10.0.0.5", {}});
    if (i == 5)
      s.layers.push_back({"connect", "fail", "dropped", "10.0.0.5:5432 no answer in 3 s", {}});
    else
      s.layers.push_back({"connect", "ok", "", "open in 0.3 ms", {}});
    sides.push_back(std::move(s));
  }
  std::string text = render::render_diagnose_matrix(sides);
  std::string odd = line_starting(text, "web05");
  EXPECT_LT(text.find("web05"), text.find("web01")) << text;
  EXPECT_NE(odd.find("dropped"), std::string::npos) << text;
  EXPECT_NE(odd.find("dns:ok connect:FAIL"), std::string::npos) << text;
  EXPECT_NE(odd.find("no answer in 3 s"), std::string::npos) << text;
  EXPECT_NE(text.find("5 sides: 1 dropped, 4 ok"), std::string::npos) << text;
}

TEST(NetRender, CaptureFleetMergesFlowsByServerAndNamesAcrossHosts) {
  auto host = [](const std::string& name, bool reset, const std::string& rcode) {
    render::CaptureHost h;
    h.host = name;
    h.file = "out." + name + ".pcap";
    h.result.stats.captured = 10;
    h.result.stats.bytes = 1000;
    net::TcpFlowSummary f;
    f.client = "10.0.0.9:40000";
    f.server = "10.0.0.5:5432";
    f.bytes = {400, 600};
    f.rtt_ms = 0.5;
    if (reset) f.rsts = {0, 1};
    h.result.traffic.tcp_flows = {f};
    h.result.traffic.tcp_flows_total = 1;
    net::DnsSummary d;
    d.name = "db.example";
    d.type = "A";
    d.queries = 1;
    d.rcode = rcode;
    if (rcode == "NOERROR") d.answers = {"A 10.0.0.5"};
    h.result.traffic.dns = {d};
    h.result.traffic.dns_total = 1;
    return h;
  };
  std::string text =
      render::render_capture_fleet({host("web01", false, "NOERROR"), host("web02", true, "NOERROR"),
                                    host("web03", false, "NXDOMAIN")},
                                   20);
  EXPECT_NE(line_starting(text, "web02").find("out.web02.pcap"), std::string::npos) << text;
  std::string server = line_starting(text, "  10.0.0.5:5432");
  EXPECT_NE(server.find("3/3"), std::string::npos) << text;
  EXPECT_NE(server.find("2.9K"), std::string::npos) << text;  // 3 flows x 1000 bytes
  std::string name = line_starting(text, "  db.example");
  EXPECT_NE(name.find("NOERROR 2, NXDOMAIN 1"), std::string::npos) << text;
  EXPECT_NE(name.find("A 10.0.0.5"), std::string::npos) << text;
}
