// The diagnose verdict on hand-made rungs: which layer fails first, the
// sentence across sides, and the rungs made from the ops' results.
#include "sonde/net/diagnose.h"

#include <gtest/gtest.h>

namespace sonde::net {
namespace {

json rung(const std::string& layer, const std::string& status, const std::string& verdict,
          const std::string& text, json data = json::object()) {
  return {
      {"layer", layer}, {"status", status}, {"verdict", verdict}, {"text", text}, {"data", data}};
}

json side(const std::string& name, std::vector<json> layers) {
  return {{"side", name}, {"layers", layers}};
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(DiagnoseVerdict, AllPassSaysLookAtTheApplication) {
  auto v = diagnose_verdict(
      "db:5432",
      {side("local", {rung("dns", "ok", "", "db → 198.18.0.3"), rung("route", "ok", "", "eth0"),
                      rung("connect", "ok", "", "open in 0.2 ms")})});
  EXPECT_TRUE(v.ok);
  EXPECT_TRUE(v.failing_layer.empty());
  EXPECT_TRUE(has(v.text, "dns, route, connect")) << v.text;
  ASSERT_FALSE(v.next.empty());
  EXPECT_TRUE(has(v.next[0], "application"));
}

TEST(DiagnoseVerdict, DroppedFromTargetRefusedFromHere) {
  json a = {{"address", "198.18.0.3"}};
  auto v = diagnose_verdict(
      "db:5432",
      {side("local", {rung("dns", "ok", "", "x"), rung("route", "ok", "", "r"),
                      rung("connect", "fail", "refused", "198.18.0.3:5432 refused (RST)", a)}),
       side("web1", {rung("dns", "ok", "", "x"), rung("route", "ok", "", "r"),
                     rung("connect", "fail", "timeout", "198.18.0.3:5432 timed out", a)})});
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.failing_layer, "connect");
  EXPECT_TRUE(has(v.text, "port 5432 is dropped from web1, refused from local")) << v.text;
  EXPECT_TRUE(has(v.text, "a firewall on web1's path")) << v.text;
  ASSERT_EQ(v.evidence.size(), 2u);
  EXPECT_EQ(v.evidence[0], "local: connect: 198.18.0.3:5432 refused (RST)");
}

TEST(DiagnoseVerdict, OpenFromOneSideDroppedFromTheOther) {
  auto v = diagnose_verdict(
      "db:5432", {side("local", {rung("connect", "ok", "", "open",
                                      {{"address", "198.18.0.3"}, {"source", "198.18.0.2"}})}),
                  side("web1", {rung("connect", "fail", "timeout", "timed out",
                                     {{"address", "198.18.0.3"}, {"source", "198.18.0.4"}})})});
  EXPECT_TRUE(has(v.text, "open from local but dropped from web1")) << v.text;
  EXPECT_TRUE(has(v.text, "drops it")) << v.text;
  ASSERT_FALSE(v.next.empty());
  EXPECT_TRUE(has(v.next[0], "198.18.0.4")) << v.next[0];
}

TEST(DiagnoseVerdict, DifferentAddressesPointAtDns) {
  auto v = diagnose_verdict(
      "db:5432",
      {side("local", {rung("connect", "ok", "", "open", {{"address", "198.18.0.3"}})}),
       side("web1", {rung("connect", "fail", "refused", "refused", {{"address", "198.18.0.7"}})})});
  EXPECT_TRUE(has(v.text, "different addresses")) << v.text;
  EXPECT_TRUE(has(v.next[0], "sonde dns db --from web1")) << v.next[0];
}

TEST(DiagnoseVerdict, EverySideTheSame) {
  json d = {{"address", "198.18.0.3"}, {"offender", "198.18.0.3"}};
  auto refused =
      diagnose_verdict("db:5432", {side("local", {rung("connect", "fail", "refused", "r", d)})});
  EXPECT_TRUE(has(refused.text, "nothing listens on 198.18.0.3:5432")) << refused.text;
  EXPECT_TRUE(has(refused.next[0], "ss -ltnp")) << refused.next[0];
  auto dropped =
      diagnose_verdict("db:5432", {side("local", {rung("connect", "fail", "timeout", "t", d)})});
  EXPECT_TRUE(has(dropped.text, "dropped from every side")) << dropped.text;
  auto admin = diagnose_verdict(
      "db:5432", {side("local", {rung("connect", "fail", "admin-prohibited", "a", d)})});
  EXPECT_TRUE(has(admin.text, "rejected by a firewall at 198.18.0.3")) << admin.text;
}

TEST(DiagnoseVerdict, FirstFailingLayerWins) {
  // DNS fails on one side: connect on the other is not what the verdict is about.
  auto v = diagnose_verdict(
      "db.example:5432",
      {side("local", {rung("dns", "ok", "", "db → 1"), rung("connect", "fail", "refused", "r")}),
       side("web1", {rung("dns", "fail", "nxdomain", "NXDOMAIN"),
                     skipped_layer("connect", "dns failed")})});
  EXPECT_EQ(v.failing_layer, "dns");
  EXPECT_TRUE(has(v.text, "db.example resolves from local but not from web1")) << v.text;
  auto nx = diagnose_verdict("db.example:5432",
                             {side("local", {rung("dns", "fail", "nxdomain", "NXDOMAIN")})});
  EXPECT_TRUE(has(nx.text, "does not exist in DNS")) << nx.text;
}

TEST(DiagnoseVerdict, TlsAndHttp) {
  auto exp = diagnose_verdict(
      "web:443", {side("local", {rung("connect", "ok", "", "open"),
                                 rung("tls", "fail", "cert-expired", "expired 3 days ago")})});
  EXPECT_EQ(exp.failing_layer, "tls");
  EXPECT_TRUE(has(exp.text, "expired")) << exp.text;
  auto not_tls = diagnose_verdict(
      "web:22", {side("local", {rung("tls", "fail", "not-tls", "it says SSH-2.0-OpenSSH_9.2")})});
  EXPECT_TRUE(has(not_tls.text, "does not speak TLS: it says SSH-2.0")) << not_tls.text;
  auto h = diagnose_verdict(
      "web:80",
      {side("local", {rung("http", "fail", "http-5xx", "HTTP 503 Service Unavailable")})});
  EXPECT_TRUE(has(h.text, "unhealthy")) << h.text;
}

TEST(DiagnoseVerdict, CheckThatCouldNotRunIsNotANetworkVerdict) {
  auto v = diagnose_verdict("db:5432",
                            {side("web1", {error_layer("connect", "unknown op net.connect")})});
  EXPECT_TRUE(has(v.text, "could not run on web1")) << v.text;
}

TEST(DiagnoseLayers, DnsFromTheOpResult) {
  json ok = {{"system", {{"addresses", {"198.18.0.3"}}, {"ms", 2}}},
             {"nameservers", {{{"server", "198.18.0.9"}, {"rcode", "NOERROR"}}}}};
  auto l = dns_layer("db", ok);
  EXPECT_EQ(l["status"], "ok");
  EXPECT_EQ(l["data"]["address"], "198.18.0.3");
  json nx = {{"system", {{"error", "Name or service not known"}}},
             {"nameservers", {{{"server", "198.18.0.9"}, {"rcode", "NXDOMAIN"}}}}};
  l = dns_layer("db", nx);
  EXPECT_EQ(l["status"], "fail");
  EXPECT_EQ(l["verdict"], "nxdomain");
  EXPECT_TRUE(has(l["text"].get<std::string>(), "nameserver 198.18.0.9: NXDOMAIN"));
  json garbage = {{"system", 5}};
  EXPECT_EQ(dns_layer("db", garbage)["status"], "fail");
}

TEST(DiagnoseLayers, HttpFromTheOpResult) {
  auto l =
      http_layer({{"ok", true}, {"status", 503}, {"reason", "Service Unavailable"}, {"path", "/"}});
  EXPECT_EQ(l["verdict"], "http-5xx");
  l = http_layer({{"ok", true}, {"status", 200}, {"reason", "OK"}, {"ttfb_ms", 3}});
  EXPECT_EQ(l["status"], "ok");
  l = http_layer({{"ok", true},
                  {"status", 301},
                  {"reason", "Moved"},
                  {"headers", {{"location", "https://x/"}}}});
  EXPECT_EQ(l["status"], "warn");
  EXPECT_TRUE(has(l["text"].get<std::string>(), "https://x/"));
  l = http_layer(
      {{"ok", false}, {"stage", "response"}, {"error", "no response before the timeout"}});
  EXPECT_EQ(l["verdict"], "no-response");
}

TEST(DiagnoseLayers, TlsFromTheOpResult) {
  json leaf = {{"subject_cn", "srv.example"},
               {"not_after", "2026-11-20T00:00:00Z"},
               {"days_left", -5},
               {"dns_names", {"srv.example"}},
               {"sha256", "AB"}};
  json expired = {
      {"outcome", "verify_failed"},
      {"chain", {leaf}},
      {"verify",
       {{"ok", false}, {"errors", {{{"code", 10}, {"reason", "certificate has expired"}}}}}},
      {"hostname", {{"ok", true}, {"checked", "srv.example"}}}};
  auto l = tls_layer(expired);
  EXPECT_EQ(l["verdict"], "cert-expired");
  EXPECT_TRUE(has(l["text"].get<std::string>(), "expired on 2026-11-20T00:00:00Z (5 days ago)"))
      << l.dump();
  json mismatch = {{"outcome", "verify_failed"},
                   {"chain", {leaf}},
                   {"verify", {{"ok", true}, {"errors", json::array()}}},
                   {"hostname", {{"ok", false}, {"checked", "other.example"}}}};
  l = tls_layer(mismatch);
  EXPECT_EQ(l["verdict"], "hostname-mismatch");
  EXPECT_TRUE(has(l["text"].get<std::string>(),
                  "asked for other.example, the certificate names srv.example"));
  json not_tls = {
      {"outcome", "not_tls"},
      {"banner", {{"server_first", true}, {"text", "SSH-2.0-OpenSSH_9.2"}, {"protocol", "ssh"}}}};
  l = tls_layer(not_tls);
  EXPECT_EQ(l["verdict"], "not-tls");
  EXPECT_TRUE(has(l["text"].get<std::string>(), "it speaks first: \"SSH-2.0-OpenSSH_9.2\" (ssh)"));
  json ok = {{"outcome", "ok"},
             {"chain", {{{"subject_cn", "srv"}, {"days_left", 90}}}},
             {"handshake",
              {{"version", "TLSv1.3"}, {"cipher", "TLS_AES_256_GCM_SHA384"}, {"alpn", "h2"}}}};
  l = tls_layer(ok);
  EXPECT_EQ(l["status"], "ok");
  EXPECT_TRUE(has(l["text"].get<std::string>(), "TLSv1.3 TLS_AES_256_GCM_SHA384, ALPN h2"));
  EXPECT_EQ(tls_layer(json::array())["verdict"], "check-failed");
}

TEST(DiagnoseLayers, ConnectFromTheOpResult) {
  json r = {{"target", {{"host", "db"}, {"port", 5432}}},
            {"verdict", "unreachable"},
            {"routes",
             {{{"destination", "198.18.0.4"},
               {"type", "unicast"},
               {"dev", "eth0"},
               {"via", "direct"},
               {"source", "198.18.0.2"},
               {"mtu", 0},
               {"error", ""}}}},
            {"attempts",
             {{{"attempt", 1},
               {"address", "198.18.0.4"},
               {"verdict", "unreachable"},
               {"ms", 0.4},
               {"detail", "admin prohibited"},
               {"source", "198.18.0.2:4000"},
               {"icmp", {{"kind", "admin-prohibited"}, {"from", "198.18.0.4"}}}}}}};
  auto ls = connect_layers(r);
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0]["status"], "ok");
  EXPECT_TRUE(has(ls[0]["text"].get<std::string>(), "on eth0, source 198.18.0.2"));
  EXPECT_EQ(ls[1]["verdict"], "admin-prohibited");
  EXPECT_EQ(ls[1]["data"]["offender"], "198.18.0.4");
  EXPECT_EQ(ls[1]["data"]["source"], "198.18.0.2");
  json noroute = {
      {"verdict", "no-route"},
      {"routes", {{{"destination", "198.19.9.9"}, {"error", "Network is unreachable"}}}},
      {"attempts", {{{"address", "198.19.9.9"}, {"verdict", "no-route"}}}}};
  ls = connect_layers(noroute);
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0]["layer"], "route");
  EXPECT_EQ(ls[0]["status"], "fail");
  EXPECT_EQ(connect_layers(json("x"))[0]["verdict"], "check-failed");
}

}  // namespace
}  // namespace sonde::net
