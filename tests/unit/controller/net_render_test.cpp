// The text of the network checks (dns, connect, tls, diagnose) for fixed
// results: the columns are printf's, and hostile strings are neutralised.
#include <gtest/gtest.h>

#include "sonde/net/connect.h"
#include "sonde/render/connect.h"
#include "sonde/render/diagnose.h"
#include "sonde/render/dns.h"
#include "sonde/render/sides.h"
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
