// The text of the network checks (dns, connect, tls, diagnose) for fixed
// results: the columns are printf's, and hostile strings are neutralised.
#include <gtest/gtest.h>

#include "sonde/net/connect.h"
#include "sonde/render/capture.h"
#include "sonde/render/connect.h"
#include "sonde/render/diagnose.h"
#include "sonde/render/dns.h"
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
  json r = {
      {"host", "web1"},
      {"target", {{"host", "db.example"}, {"port", 5432}}},
      {"resolve", {{"addresses", {"10.0.0.5"}}, {"ms", 1}}},
      {"attempts",
       {{{"attempt", 1},
         {"address", "10.0.0.5"},
         {"verdict", "refused"},
         {"ms", 0.5},
         {"source", "10.0.0.9"},
         {"detail", "RST"}}}},
      {"routes",
       {{{"destination", "10.0.0.5"}, {"dev", "eth0"}, {"source", "10.0.0.9"}, {"mtu", 1500}}}},
      {"summary", "refused"}};
  std::string text =
      render::render_connect({{{"side", "local"}, {"result", r}}}, {"only local tried"});
  EXPECT_EQ(text,
            "== local (host web1 → db.example:5432) ==\n"
            "  resolves to: 10.0.0.5 (1 ms)\n"
            "  #  address   verdict     time  source    detail\n"
            "  1  10.0.0.5  refused  0.50 ms  10.0.0.9  RST\n"
            "  route to 10.0.0.5: dev eth0, direct, src 10.0.0.9, mtu 1500\n"
            "  meaning: " +
                net::explain(r["attempts"][0], "5432") +
                "\n"
                "  summary: refused\n"
                "\n"
                "comparison:\n"
                "  - only local tried\n");
}

TEST(NetRender, TlsSideFailedAndNotTls) {
  json failed = {{"host", "web1"},
                 {"target", {{"host", "db.example"}, {"port", 443}, {"sni", "db.example"}}},
                 {"address", "10.0.0.5"},
                 {"tls", false},
                 {"outcome", "handshake_failed"},
                 {"stage", "handshake"},
                 {"error", "alert 40"},
                 {"ms", {{"connect", 2}, {"handshake", 5}}},
                 {"summary", "no TLS"}};
  EXPECT_EQ(render::render_tls_side("local", failed),
            "== local (host web1) → db.example:443 (10.0.0.5), SNI db.example ==\n"
            "  FAILED (handshake): alert 40\n"
            "  time     connect 2 ms, handshake 5 ms\n"
            "  summary: no TLS\n");
  json plain = {{"host", "web1"},
                {"target", {{"host", "::1"}, {"port", 8443}}},
                {"tls", false},
                {"outcome", "not_tls"},
                {"error", "the server spoke first"},
                {"banner", {{"hex", "48 54 54 50"}, {"bytes", 40}}},
                {"hint", "is it HTTP?"},
                {"summary", "not TLS"}};
  EXPECT_EQ(render::render_tls_side("web1", plain),
            "== web1 (host web1) → [::1]:8443, SNI none ==\n"
            "  NOT TLS: the server spoke first\n"
            "  first bytes: 48 54 54 50 ...\n"
            "  hint: is it HTTP?\n"
            "  summary: not TLS\n");
}

TEST(NetRender, TlsSideHandshake) {
  json r = {{"host", "h"},
            {"target", {{"host", "a.example"}, {"port", 443}, {"sni", "a.example"}}},
            {"address", "10.0.0.5"},
            {"tls", true},
            {"handshake",
             {{"version", "TLSv1.3"}, {"cipher", "TLS_AES_128_GCM_SHA256"}, {"cipher_bits", 128}}},
            {"chain",
             {{{"depth", 0},
               {"subject", "CN=a.example"},
               {"issuer", "CN=a.example"},
               {"self_signed", true},
               {"dns_names", {"a.example"}},
               {"not_before", "2025-01-31T12:00:00Z"},
               {"not_after", "2026-01-31T12:00:00Z"},
               {"days_left", 10},
               {"key_type", "EC"},
               {"key_bits", 256},
               {"signature_algorithm", "ecdsa-with-SHA256"},
               {"serial", "01"},
               {"sha256", "AB:CD"}}}},
            {"verify",
             {{"ok", false},
              {"store", {{"kind", "file"}, {"path", "/etc/ssl/certs.pem"}, {"certs", 3}}},
              {"errors", {{{"depth", 0}, {"reason", "self-signed certificate"}}}}}},
            {"hostname", {{"ok", true}, {"checked", "a.example"}, {"matched", "DNS:a.example"}}},
            {"ms", {{"connect", 1}, {"handshake", 4}}},
            {"summary", "TLS 1.3, does not verify"}};
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
}

TEST(NetRender, DiagnoseSideAndVerdict) {
  json layers = {{{"layer", "dns"}, {"status", "ok"}, {"text", "db → 10.0.0.5"}},
                 {{"layer", "connect"}, {"status", "fail"}, {"text", "refused"}},
                 {{"layer", "tls"}, {"status", "skip"}, {"text", "not run"}}};
  EXPECT_EQ(render::render_diagnose_side("local", "web1", layers),
            "== local (host web1) ==\n"
            "  dns      ok    db → 10.0.0.5\n"
            "  connect  FAIL  refused\n"
            "  tls      -     not run\n");
  EXPECT_EQ(render::render_diagnose_side("via", "", json::array()), "== via ==\n");
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
  json paths = {
      {{"path", "direct"},
       {"direction", "upload"},
       {"status", "ok"},
       {"address", "10.0.0.5:5201"},
       {"gbps", 9.41},
       {"retransmits", 3},
       {"rtt",
        {{"count", 10}, {"min_us", 40.0}, {"median_us", 50.0}, {"p90_us", 70.0}, {"max_us", 90.0}}},
       {"tcp_info_from", "controller (sender)"},
       {"tcp_info",
        {{"rtt_us", 55.0},
         {"rttvar_us", 5.0},
         {"snd_cwnd", 10},
         {"snd_mss", 1448},
         {"pmtu", 1500}}}},
      {{"path", "direct"},
       {"direction", "download"},
       {"status", "failed"},
       {"address", "10.0.0.5:5201"},
       {"reason", "timed out"},
       {"hint", "open the port"}},
      {{"path", "ssh"}, {"status", "n/a"}, {"reason", "local target"}}};
  std::string summary = render::speed_summary(paths);
  EXPECT_EQ(summary,
            "direct upload 9.41 Gbit/s, rtt median 0.050 ms; direct download failed: timed out; "
            "ssh n/a (local target)");
  EXPECT_EQ(
      render::render_speed("web1", "web1.example", 2000, 10, paths, summary),
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

TEST(NetRender, Capture) {
  json r = {{"host", "web1"},
            {"interface", "lo"},
            {"linktype_name", "EN10MB"},
            {"snaplen", 262144},
            {"filter", "tcp port 80"},
            {"excluded", nullptr},
            {"stopped_by", "count"},
            {"elapsed_ms", 1500},
            {"file_bytes", 2048},
            {"stats",
             {{"captured", 4}, {"bytes", 400}, {"received", 8}, {"dropped", 0}, {"if_dropped", 0}}},
            {"traffic",
             {{"ipv4", 4},
              {"tcp", 4},
              {"tcp_flows_total", 1},
              {"tcp_flows",
               {{{"client", "127.0.0.1:40000"},
                 {"server", "127.0.0.1:80"},
                 {"packets", {{"client", 2}, {"server", 2}}},
                 {"payload", {{"client", 100}, {"server", 2000}}},
                 {"handshake", {{"rtt_ms", 0.05}}},
                 {"retransmissions", {{"client", 0}, {"server", 0}}},
                 {"rsts", {{"client", 0}, {"server", 1}}},
                 {"zero_windows", {{"client", 0}, {"server", 0}}},
                 {"duration_ms", 1200.0},
                 {"state", "reset"}}}},
              {"dns_total", 1},
              {"dns",
               {{{"type", "A"},
                 {"name", "db.example"},
                 {"client", "10.0.0.9:5353"},
                 {"server", "10.0.0.2:53"},
                 {"id", 7},
                 {"queries", 2},
                 {"query_us", 1},
                 {"rcode", "NOERROR"},
                 {"answers", {"10.0.0.5"}},
                 {"ms", 1.5}}}}}},
            {"notes", {"a note"}}};
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
