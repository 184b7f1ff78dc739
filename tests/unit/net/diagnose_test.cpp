// The diagnose verdict on hand-made rungs: which layer fails first, the
// sentence across sides, and the rungs made from the ops' results.
#include "sonde/net/diagnose.h"

#include <gtest/gtest.h>

namespace sonde::net {
namespace {

Layer rung(const std::string& layer, const std::string& status, const std::string& verdict,
           const std::string& text, std::map<std::string, std::string> data = {}) {
  return {layer, status, verdict, text, std::move(data)};
}

DiagnoseSide side(const std::string& name, std::vector<Layer> layers) {
  return {name, "", std::move(layers)};
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
  std::map<std::string, std::string> a = {{"address", "198.18.0.3"}};
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
  std::map<std::string, std::string> d = {{"address", "198.18.0.3"}, {"offender", "198.18.0.3"}};
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
  DnsResult ok;
  ok.system.addresses = {"198.18.0.3"};
  ok.system.ms = 2;
  ServerAnswer ns;
  ns.server = "198.18.0.9";
  ns.rcode = "NOERROR";
  ok.nameservers = {ns};
  auto l = dns_layer("db", ok);
  EXPECT_EQ(l.status, "ok");
  EXPECT_EQ(l.data["address"], "198.18.0.3");
  EXPECT_EQ(l.text, "db → 198.18.0.3 (system resolver, 2 ms)");
  DnsResult nx;
  nx.system.error = "Name or service not known";
  ns.rcode = "NXDOMAIN";
  nx.nameservers = {ns};
  l = dns_layer("db", nx);
  EXPECT_EQ(l.status, "fail");
  EXPECT_EQ(l.verdict, "nxdomain");
  EXPECT_TRUE(has(l.text, "nameserver 198.18.0.9: NXDOMAIN"));
  EXPECT_EQ(dns_layer("db", DnsResult{}).verdict, "unresolved");
}

TEST(DiagnoseLayers, HttpFromTheOpResult) {
  HttpResult r;
  r.ok = true;
  r.path = "/";
  r.status = 503;
  r.reason = "Service Unavailable";
  EXPECT_EQ(http_layer(r).verdict, "http-5xx");
  r.status = 200;
  r.reason = "OK";
  r.ttfb_ms = 3;
  auto l = http_layer(r);
  EXPECT_EQ(l.status, "ok");
  EXPECT_EQ(l.text, "GET /: HTTP 200 OK in 3 ms");
  EXPECT_EQ(l.data["status"], "200");
  r.status = 301;
  r.reason = "Moved";
  r.headers = {{"location", "https://x/"}};
  l = http_layer(r);
  EXPECT_EQ(l.status, "warn");
  EXPECT_TRUE(has(l.text, "https://x/"));
  HttpResult silent;
  silent.stage = "response";
  silent.error = "no response before the timeout";
  EXPECT_EQ(http_layer(silent).verdict, "no-response");
}

TEST(DiagnoseLayers, TlsFromTheOpResult) {
  TlsCert leaf;
  leaf.subject_cn = "srv.example";
  leaf.not_after = "2026-11-20T00:00:00Z";
  leaf.days_left = -5;
  leaf.dns_names = {"srv.example"};
  leaf.sha256 = "AB";
  TlsResult expired;
  expired.outcome = "verify_failed";
  expired.tls = true;
  expired.chain = {leaf};
  expired.verify_errors = {{0, 10, "certificate has expired"}};
  expired.hostname_ok = true;
  expired.hostname_checked = "srv.example";
  auto l = tls_layer(expired);
  EXPECT_EQ(l.verdict, "cert-expired");
  EXPECT_TRUE(has(l.text, "expired on 2026-11-20T00:00:00Z (5 days ago)")) << l.text;
  EXPECT_EQ(l.data["sha256"], "AB");
  TlsResult mismatch = expired;
  mismatch.verify_errors.clear();
  mismatch.verified = true;
  mismatch.hostname_ok = false;
  mismatch.hostname_checked = "other.example";
  l = tls_layer(mismatch);
  EXPECT_EQ(l.verdict, "hostname-mismatch");
  EXPECT_TRUE(has(l.text, "asked for other.example, the certificate names srv.example"));
  TlsResult not_tls;
  not_tls.outcome = "not_tls";
  not_tls.banner_seen = true;
  not_tls.server_first = true;
  not_tls.banner_text = "SSH-2.0-OpenSSH_9.2";
  not_tls.banner_protocol = "ssh";
  l = tls_layer(not_tls);
  EXPECT_EQ(l.verdict, "not-tls");
  EXPECT_TRUE(has(l.text, "it speaks first: \"SSH-2.0-OpenSSH_9.2\" (ssh)"));
  TlsResult ok;
  ok.outcome = "ok";
  ok.tls = true;
  ok.version = "TLSv1.3";
  ok.cipher = "TLS_AES_256_GCM_SHA384";
  ok.alpn = "h2";
  TlsCert fresh;
  fresh.subject_cn = "srv";
  fresh.days_left = 90;
  ok.chain = {fresh};
  l = tls_layer(ok);
  EXPECT_EQ(l.status, "ok");
  EXPECT_TRUE(has(l.text, "TLSv1.3 TLS_AES_256_GCM_SHA384, ALPN h2")) << l.text;
  TlsResult alert;
  alert.outcome = "handshake_failed";
  alert.error = "the server sent the TLS alert \"handshake failure\"";
  alert.alert = "handshake failure";
  l = tls_layer(alert);
  EXPECT_EQ(l.verdict, "handshake");
  EXPECT_TRUE(has(l.text, "(alert: handshake failure)")) << l.text;
}

TEST(DiagnoseLayers, ConnectFromTheOpResult) {
  ConnectResult r;
  r.options.host = "db";
  r.options.port = 5432;
  RouteInfo rt;
  rt.destination = "198.18.0.4";
  rt.type = "unicast";
  rt.dev = "eth0";
  rt.prefsrc = "198.18.0.2";
  r.routes = {rt};
  Attempt a;
  a.attempt = 1;
  a.address = "198.18.0.4";
  a.verdict = "unreachable";
  a.ms = 0.4;
  a.detail = "admin prohibited";
  a.source = "198.18.0.2:4000";
  a.icmp = IcmpInfo{3, 13, false, "admin-prohibited", "198.18.0.4", false};
  r.attempts = {a};
  auto ls = connect_layers(r);
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0].status, "ok");
  EXPECT_TRUE(has(ls[0].text, "on eth0, source 198.18.0.2")) << ls[0].text;
  EXPECT_EQ(ls[1].verdict, "admin-prohibited");
  EXPECT_EQ(ls[1].data["offender"], "198.18.0.4");
  EXPECT_EQ(ls[1].data["source"], "198.18.0.2");
  EXPECT_EQ(ls[1].text, "198.18.0.4:5432 admin prohibited (0.40 ms)");

  ConnectResult noroute;
  RouteInfo none;
  none.destination = "198.19.9.9";
  none.error = "Network is unreachable";
  noroute.routes = {none};
  Attempt nr;
  nr.address = "198.19.9.9";
  nr.verdict = "no-route";
  noroute.attempts = {nr};
  ls = connect_layers(noroute);
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0].layer, "route");
  EXPECT_EQ(ls[0].status, "fail");

  ConnectResult unresolved;
  unresolved.resolve_error = "Name or service not known";
  unresolved.cancelled = true;
  ls = connect_layers(unresolved);
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0].status, "skipped");
  EXPECT_EQ(ls[1].verdict, "cancelled");
  EXPECT_EQ(ls[1].text, "not resolved: Name or service not known");
}

TEST(DiagnoseLayers, JsonShape) {
  json l = to_json(rung("connect", "fail", "refused", "r", {{"address", "198.18.0.3"}}));
  EXPECT_EQ(l, json({{"layer", "connect"},
                     {"status", "fail"},
                     {"verdict", "refused"},
                     {"text", "r"},
                     {"data", {{"address", "198.18.0.3"}}}}));
  EXPECT_EQ(to_json(skipped_layer("tls", "not run"))["data"], json::object());
  json s = to_json(DiagnoseSide{"web1", "host1", {skipped_layer("dns", "an address")}});
  EXPECT_EQ(s["side"], "web1");
  EXPECT_EQ(s["host"], "host1");
  EXPECT_EQ(s["layers"].size(), 1u);
}

}  // namespace
}  // namespace sonde::net
