// The net ops' results (tls, connect, http, speed, capture) and net.tls's
// args: each survives the wire field for field, a wrong type names the
// field, a missing required field is an error, and a peer cannot make the
// controller take lists no agent sends.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "sonde/common/json_read.h"
#include "sonde/net/capture_contract.h"
#include "sonde/net/connect_contract.h"
#include "sonde/net/http_contract.h"
#include "sonde/net/speed_contract.h"
#include "sonde/net/tls_contract.h"
#include "support/contains.h"
#include "support/wire.h"

namespace sonde::net {
namespace {

using sonde::testing::contains;
using sonde::testing::over_the_wire;

// A reader's error for a malformed reply: a protocol error naming the
// field, with the hint to run the matching agent.
template <typename T>
void expect_malformed(const Result<T>& r, const std::string& message) {
  ASSERT_FALSE(r.ok()) << message;
  EXPECT_EQ(r.error().code, errc::kProtocol);
  EXPECT_EQ(r.error().message, message);
  EXPECT_EQ(r.error().hint, kPeerMismatchHint);
}

TEST(TlsContract, ArgsRoundTripDefaultsAndMalformed) {
  TlsArgs a;
  a.host = "db.example";
  a.port = 8443;
  a.sni = "db.example";
  a.alpn = {};
  a.ca_pem = "-----BEGIN CERTIFICATE-----";
  a.timeout_ms = 2000;
  a.banner_wait_ms = 0;
  a.min_version = "1.2";
  a.max_version = "1.3";
  auto back = tls_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->host, "db.example");
  EXPECT_EQ(back->port, 8443);
  EXPECT_EQ(back->sni, "db.example");
  EXPECT_TRUE(back->alpn.empty()) << "an empty offer stays empty";
  EXPECT_EQ(back->ca_pem, a.ca_pem);
  EXPECT_EQ(back->timeout_ms, 2000);
  EXPECT_EQ(back->banner_wait_ms, 0);
  EXPECT_EQ(back->min_version, "1.2");
  EXPECT_EQ(back->max_version, "1.3");
  // Defaults stay off the wire, and an absent field is the default.
  json d = to_json(TlsArgs{});
  EXPECT_FALSE(d.contains("alpn"));
  EXPECT_FALSE(d.contains("sni"));
  EXPECT_FALSE(d.contains("no_sni"));
  auto min = tls_args_from_json({{"host", "h"}});
  ASSERT_TRUE(min);
  EXPECT_EQ(min->port, 443);
  EXPECT_EQ(min->alpn, (std::vector<std::string>{"h2", "http/1.1"}));

  auto alpn = tls_args_from_json({{"host", "h"}, {"alpn", {"h2", 2}}});
  ASSERT_FALSE(alpn);
  EXPECT_EQ(alpn.error().code, errc::kBadArgs);
  EXPECT_EQ(alpn.error().message,
            "bad `net.tls` arguments: alpn[1]: expected a string, got number");
  EXPECT_TRUE(contains(tls_args_from_json({{"port", 1ULL << 40}}).error().message,
                       "port: 1099511627776 is out of range"));
  EXPECT_TRUE(contains(
      tls_args_from_json({{"alpn", std::vector<std::string>(kMaxAlpn + 1, "x")}}).error().message,
      "alpn: 17 items, at most 16 expected"));
}

TEST(TlsContract, ValidateIsTheOneJudge) {
  TlsArgs ok;
  ok.host = "example.com";
  EXPECT_TRUE(validate(ok));
  auto says = [&](TlsArgs a) { return validate(a).error().message; };
  TlsArgs a = ok;
  a.host = "a b";
  EXPECT_TRUE(contains(says(a), "cannot have"));
  a = ok;
  a.port = 0;
  EXPECT_EQ(says(a), "port 0 is not in 1..65535");
  a = ok;
  a.sni = "x";
  a.no_sni = true;
  EXPECT_EQ(says(a), "--sni and --no-sni together");
  a.no_sni = false;
  a.sni = "1.2.3.4";
  EXPECT_TRUE(contains(says(a), "not a DNS name"));
  a = ok;
  a.alpn = {"h2", ""};
  EXPECT_TRUE(contains(says(a), "--alpn"));
  a = ok;
  a.min_version = "1.4";
  EXPECT_EQ(says(a), "--tls-min `1.4` is not a TLS version");
  a.min_version = "1.3";
  a.max_version = "1.2";
  EXPECT_EQ(says(a), "--tls-min is above --tls-max");
  a = ok;
  a.timeout_ms = 0;
  EXPECT_TRUE(contains(says(a), "--timeout"));
  a = ok;
  a.banner_wait_ms = kMaxBannerWaitMs + 1;
  EXPECT_TRUE(contains(says(a), "--banner-wait"));
  a = ok;
  a.ca_pem.assign(kMaxCaPem + 1, 'x');
  EXPECT_TRUE(contains(says(a), "over 1 MiB"));
  a = ok;
  a.ca_pem = "pem";
  a.ca_file = "/etc/ca.pem";
  EXPECT_TRUE(contains(says(a), "not both"));
  EXPECT_EQ(validate(a).error().code, errc::kBadArgs);
}

TlsResult tls_sample() {
  TlsResult r;
  r.agent_host = "web1";
  r.host = "db.example";
  r.port = 443;
  r.sni = "db.example";
  r.alpn_offered = {"h2", "http/1.1"};
  r.stage = "done";
  r.outcome = "verify_failed";
  r.tls = true;
  r.error = "certificate verification failed";
  r.hint = "pass its CA with --ca-file";
  r.addresses = {"10.0.0.5", "10.0.0.6"};
  r.address = "10.0.0.6";
  r.attempts = {{"10.0.0.5", "connection refused"}};
  r.banner_seen = true;
  r.banner_text = "x";
  r.banner_bytes = 1;
  r.version = "TLSv1.3";
  r.cipher = "TLS_AES_128_GCM_SHA256";
  r.cipher_iana = "TLS_AES_128_GCM_SHA256";
  r.cipher_bits = 128;
  r.alpn = "h2";
  r.key_exchange = "X25519";
  r.ocsp_stapled = true;
  TlsCert c;
  c.subject = "CN=db.example";
  c.issuer = "CN=ca";
  c.subject_cn = "db.example";
  c.dns_names = {"db.example"};
  c.ip_addresses = {"10.0.0.6"};
  c.serial = "01";
  c.not_after = "2020-02-01T00:00:00Z";
  c.not_after_epoch = 1580515200;
  c.days_left = -2000;
  c.key_type = "EC";
  c.key_bits = 256;
  c.key_curve = "prime256v1";
  c.sha256 = "AB:CD";
  r.chain = {c, c};
  r.chain[1].depth = 1;
  r.store_kind = "file";
  r.store_path = "/etc/ssl/certs/ca-certificates.crt";
  r.store_certs = 140;
  r.verify_errors = {{0, 10, "certificate has expired"}};
  r.hostname_checked = "db.example";
  r.hostname_ok = true;
  r.hostname_matched = "db.example";
  r.connect_ms = 1;
  r.handshake_ms = 3;
  r.total_ms = 5;
  r.notes = {"n"};
  r.summary = "db.example:443 TLSv1.3";
  return r;
}

TEST(TlsContract, ResultRoundTrip) {
  json j = to_json(tls_sample());
  auto back = tls_result_from_json(over_the_wire(j));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), j) << "field for field";
  EXPECT_EQ(back->agent_host, "web1");
  EXPECT_EQ(back->chain.size(), 2u);
  EXPECT_EQ(back->chain[0].days_left, -2000);
  EXPECT_EQ(back->verify_errors[0].code, 10);
  EXPECT_EQ(back->attempts[0].second, "connection refused");
  EXPECT_TRUE(back->banner_seen);
  // Without a handshake its parts are null and read back as absent.
  TlsResult plain;
  plain.outcome = "not_tls";
  json pj = to_json(plain);
  EXPECT_TRUE(pj["handshake"].is_null());
  EXPECT_TRUE(pj["verify"].is_null());
  EXPECT_TRUE(pj["banner"].is_null());
  auto pb = tls_result_from_json(over_the_wire(pj));
  ASSERT_TRUE(pb) << pb.error().message;
  EXPECT_FALSE(pb->banner_seen);
  EXPECT_EQ(to_json(*pb), pj);
}

TEST(TlsContract, MalformedResultNamesTheField) {
  json j = to_json(tls_sample());
  j["chain"][1]["days_left"] = "soon";
  expect_malformed(tls_result_from_json(j),
                   "malformed `net.tls` result from the agent: chain[1].days_left: expected an "
                   "integer, got string");
  json v = to_json(tls_sample());
  v["verify"]["errors"][0]["code"] = true;
  expect_malformed(tls_result_from_json(v),
                   "malformed `net.tls` result from the agent: verify.errors[0].code: expected "
                   "an integer, got boolean");
  json m = to_json(tls_sample());
  m.erase("outcome");
  expect_malformed(tls_result_from_json(m),
                   "malformed `net.tls` result from the agent: outcome: missing");
  json t = to_json(tls_sample());
  t.erase("target");
  EXPECT_TRUE(contains(tls_result_from_json(t).error().message, "target: missing"));
  expect_malformed(tls_result_from_json(json::array()),
                   "malformed `net.tls` result from the agent: expected a map, got array");
}

TEST(TlsContract, HostileSizesAreRefused) {
  json j = to_json(tls_sample());
  j["chain"] = json::array();
  for (size_t i = 0; i <= kMaxTlsChain; ++i) j["chain"].push_back(json::object());
  expect_malformed(tls_result_from_json(j),
                   "malformed `net.tls` result from the agent: chain: 17 items, at most 16 "
                   "expected");
  json a = to_json(tls_sample());
  a["addresses"] = std::vector<std::string>(kMaxTlsAddresses + 1, "10.0.0.1");
  EXPECT_TRUE(contains(tls_result_from_json(a).error().message, "addresses: 9 items"));
  json p = to_json(tls_sample());
  p["target"]["port"] = 1ULL << 40;
  EXPECT_TRUE(contains(tls_result_from_json(p).error().message,
                       "target.port: 1099511627776 is out of range"));
}

TEST(TlsContract, DifferencesBetweenSides) {
  TlsResult a = tls_sample();
  TlsResult b = tls_sample();
  EXPECT_TRUE(tls_differences({{"local", a}, {"web1", b}}).empty());
  b.address = "10.0.0.9";
  b.verify_errors.clear();
  b.verified = true;
  auto d = tls_differences({{"local", a}, {"web1", b}});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_TRUE(contains(d[0], "local connects to 10.0.0.6, web1 to 10.0.0.9")) << d[0];
  EXPECT_EQ(d[1],
            "web1 verifies the chain, local does not (certificate has expired): same "
            "certificate, so local's trust store lacks the CA");
  TlsResult plain;
  plain.outcome = "not_tls";
  plain.error = "the server spoke first";
  d = tls_differences({{"local", a}, {"via", plain}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(contains(d[0], "local gets TLS, via does not (the server spoke first)")) << d[0];
}

ConnectResult connect_sample() {
  ConnectResult r;
  r.agent_host = "web1";
  r.options.host = "db";
  r.options.port = 5432;
  r.options.count = 2;
  r.options.hold_ms = 100;
  r.options.family = AF_INET;
  r.addresses = {"10.0.0.5"};
  r.resolve_ms = 1;
  Attempt open;
  open.attempt = 1;
  open.address = "10.0.0.5";
  open.family = "ipv4";
  open.verdict = "open";
  open.ms = 0.25;
  open.source = "10.0.0.9:4000";
  open.hold = HoldResult{100, "closed", 40, 5, "hi", "CLOSE_WAIT", 30, ""};
  Attempt drop = open;
  drop.attempt = 2;
  drop.verdict = "unreachable";
  drop.hold.reset();
  drop.icmp = IcmpInfo{3, 13, false, "admin-prohibited", "10.0.0.1", false};
  drop.sys_errno = 113;
  drop.errno_name = "EHOSTUNREACH";
  r.attempts = {open, drop};
  RouteInfo rt;
  rt.destination = "10.0.0.5";
  rt.type = "unicast";
  rt.dev = "eth0";
  rt.gateway = "10.0.0.1";
  rt.prefsrc = "10.0.0.9";
  rt.mtu = 1500;
  rt.table = 254;
  r.routes = {rt};
  r.notes = {"n"};
  r.elapsed_ms = 1200;
  return r;
}

TEST(ConnectContract, ResultRoundTripAndDerivedFields) {
  json j = to_json(connect_sample());
  EXPECT_EQ(j["verdict"], "intermittent");
  EXPECT_EQ(j["connected"], false);
  EXPECT_EQ(j["attempts_opened"], 1);
  EXPECT_EQ(j["attempts_total"], 2);
  EXPECT_EQ(j["options"]["family"], "4");
  EXPECT_EQ(j["routes"][0]["via"], "10.0.0.1");
  auto back = connect_result_from_json(over_the_wire(j));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), j) << "field for field, the summary too";
  EXPECT_EQ(back->options.family, AF_INET);
  ASSERT_TRUE(back->attempts[0].hold);
  EXPECT_EQ(back->attempts[0].hold->tcp_state, "CLOSE_WAIT");
  ASSERT_TRUE(back->attempts[1].icmp);
  EXPECT_EQ(back->attempts[1].icmp->kind, "admin-prohibited");
  EXPECT_FALSE(back->attempts[1].hold);
  EXPECT_EQ(back->routes[0].prefsrc, "10.0.0.9");
}

TEST(ConnectContract, MalformedResultNamesTheField) {
  json j = to_json(connect_sample());
  j["attempts"][1]["icmp"]["from_self"] = "no";
  expect_malformed(connect_result_from_json(j),
                   "malformed `net.connect` result from the agent: attempts[1].icmp.from_self: "
                   "expected a boolean, got string");
  json f = to_json(connect_sample());
  f["options"]["family"] = "5";
  EXPECT_TRUE(contains(connect_result_from_json(f).error().message,
                       "options.family: `5` is not \"any\", \"4\" or \"6\""));
  json m = to_json(connect_sample());
  m.erase("attempts");
  expect_malformed(connect_result_from_json(m),
                   "malformed `net.connect` result from the agent: attempts: missing");
  json v = to_json(connect_sample());
  v["attempts"][0].erase("verdict");
  EXPECT_TRUE(
      contains(connect_result_from_json(v).error().message, "attempts[0].verdict: missing"));
}

TEST(ConnectContract, HostileSizesAreRefused) {
  json j = to_json(connect_sample());
  j["attempts"] = json::array();
  for (size_t i = 0; i <= kMaxAttemptRows; ++i)
    j["attempts"].push_back({{"verdict", "open"}, {"attempt", 1}});
  EXPECT_TRUE(contains(connect_result_from_json(j).error().message,
                       "attempts: 801 items, at most 800 expected"));
  json r = to_json(connect_sample());
  r["routes"] = json::array();
  for (size_t i = 0; i <= kMaxAddresses; ++i) r["routes"].push_back(json::object());
  EXPECT_TRUE(contains(connect_result_from_json(r).error().message, "routes: 9 items"));
  json p = to_json(connect_sample());
  p["attempts"][0]["attempt"] = -(1LL << 40);
  EXPECT_TRUE(contains(connect_result_from_json(p).error().message,
                       "attempts[0].attempt: -1099511627776 is out of range"));
}

TEST(HttpContract, ResultRoundTripBothShapes) {
  HttpResult ok;
  ok.ok = true;
  ok.tls = true;
  ok.path = "/health";
  ok.stage = "response";
  ok.address = "10.0.0.5";
  ok.version = "HTTP/1.1";
  ok.status = 503;
  ok.reason = "Service Unavailable";
  ok.headers = {{"server", "nginx"}, {"retry-after", "30"}};
  ok.ttfb_ms = 4;
  ok.body_bytes = 5;
  ok.total_ms = 6;
  ok.summary = "HTTP 503 Service Unavailable in 4 ms";
  json j = to_json(ok);
  EXPECT_FALSE(j.contains("error"));
  auto back = http_result_from_json(over_the_wire(j));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->headers.at("retry-after"), "30");

  HttpResult failed;
  failed.path = "/";
  failed.stage = "resolve";
  failed.error = "Name or service not known";
  failed.summary = "HTTP resolve failed: Name or service not known";
  json f = to_json(failed);
  EXPECT_FALSE(f.contains("status"));
  EXPECT_FALSE(f.contains("address")) << "it never got to an address";
  auto fb = http_result_from_json(over_the_wire(f));
  ASSERT_TRUE(fb) << fb.error().message;
  EXPECT_EQ(to_json(*fb), f);
}

TEST(HttpContract, MalformedResultNamesTheField) {
  HttpResult r;
  r.ok = true;
  json j = to_json(r);
  j["status"] = "503";
  expect_malformed(http_result_from_json(j),
                   "malformed `net.http` result from the agent: status: expected an integer, got "
                   "string");
  json h = to_json(r);
  h["headers"]["server"] = 1;
  EXPECT_TRUE(contains(http_result_from_json(h).error().message,
                       "headers: expected string values, got number"));
  json m = to_json(r);
  m.erase("ok");
  expect_malformed(http_result_from_json(m),
                   "malformed `net.http` result from the agent: ok: missing");
  json big = to_json(r);
  for (size_t i = 0; i <= kMaxHttpHeaders; ++i) big["headers"]["x-" + std::to_string(i)] = "v";
  EXPECT_TRUE(contains(http_result_from_json(big).error().message,
                       "headers: 17 headers, at most 16 expected"));
}

SpeedResult speed_sample() {
  SpeedResult r;
  r.agent_host = "web1";
  r.address = "10.0.0.5";
  r.port = 40000;
  r.peer = "10.0.0.9:5000";
  r.rejected = 1;
  r.direction = SpeedDirection::kDownload;
  r.duration_ms = 1000;
  r.bulk.sender = true;
  r.bulk.bytes = 1 << 20;
  r.bulk.seconds = 1.0;
  r.bulk.gbps = 0.008;
  r.bulk.intervals = {{0, 0.5, 1 << 19, 0.004, 2}, {0.5, 1.0, 1 << 19, 0.004, -1}};
  r.bulk.tcp_start = {true, 10, 50, 5, 10, 1448, 1500};
  r.bulk.tcp_end = {true, 13, 60, 6, 20, 1448, 1500};
  r.bulk.peer_bytes = 1 << 20;
  r.bulk.peer_bytes_known = true;
  r.notes = {"listening on loopback only"};
  return r;
}

TEST(SpeedContract, ResultAndEventRoundTrip) {
  json j = to_json(speed_sample());
  EXPECT_EQ(j["bulk"]["retransmits"], 3);
  auto back = speed_result_from_json(over_the_wire(j));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), j) << "field for field";
  EXPECT_EQ(back->direction, SpeedDirection::kDownload);
  EXPECT_TRUE(back->bulk.sender);
  EXPECT_EQ(back->bulk.tcp_end.snd_cwnd, 20u);
  EXPECT_EQ(back->bulk.intervals[1].retransmits, -1);
  EXPECT_TRUE(back->bulk.peer_bytes_known);

  SpeedListening ev{"127.0.0.1", 40000, "loopback", {}};
  ev.token[0] = 0xab;
  json ej = to_json(ev);
  EXPECT_EQ(ej["event"], "listening");
  auto eb = speed_listening_from_json(over_the_wire(ej));
  ASSERT_TRUE(eb) << eb.error().message;
  EXPECT_EQ(eb->token, ev.token);
  EXPECT_EQ(eb->port, 40000);
  EXPECT_EQ(eb->bind_source, "loopback");
}

TEST(SpeedContract, MalformedResultAndEventNameTheField) {
  json j = to_json(speed_sample());
  j["bulk"]["intervals"][1]["bytes"] = -3;
  expect_malformed(speed_result_from_json(j),
                   "malformed `net.speed` result from the agent: bulk.intervals[1].bytes: -3 is "
                   "negative");
  json d = to_json(speed_sample());
  d["direction"] = "sideways";
  EXPECT_TRUE(contains(speed_result_from_json(d).error().message,
                       "direction: `sideways` is not upload or download"));
  json m = to_json(speed_sample());
  m.erase("bulk");
  expect_malformed(speed_result_from_json(m),
                   "malformed `net.speed` result from the agent: bulk: missing");
  json role = to_json(speed_sample());
  role["bulk"]["role"] = "both";
  EXPECT_TRUE(contains(speed_result_from_json(role).error().message,
                       "bulk.role: `both` is not sender or receiver"));

  json ev = to_json(SpeedListening{"127.0.0.1", 1, "arg", {}});
  ev["token"] = "zz";
  expect_malformed(speed_listening_from_json(ev),
                   "malformed `net.speed` event from the agent: token: not 32 hex digits");
  json np = to_json(SpeedListening{"127.0.0.1", 1, "arg", {}});
  np.erase("port");
  EXPECT_TRUE(contains(speed_listening_from_json(np).error().message, "port: missing"));
}

// The progress event: what the agent's loop saw so far, field for field
// over msgpack; its kind tells it from the listening event.
TEST(SpeedContract, ProgressEventRoundTripsAndNamesABadField) {
  SpeedProgress p;
  p.phase = SpeedPhase::kBulk;
  p.sender = false;
  p.bytes = 123456789;
  p.seconds = 3.0;
  p.gbps = 9.5;
  json j = to_json(p);
  EXPECT_EQ(speed_event_kind(j), "progress");
  EXPECT_EQ(speed_event_kind(to_json(SpeedListening{"127.0.0.1", 1, "arg", {}})), "listening");
  EXPECT_EQ(speed_event_kind(json{{"phase", "bulk"}}), "");
  auto back = speed_progress_from_json(over_the_wire(j));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->phase, SpeedPhase::kBulk);
  EXPECT_FALSE(back->sender);
  EXPECT_EQ(back->bytes, 123456789u);

  json bad = j;
  bad["phase"] = "warp";
  expect_malformed(speed_progress_from_json(bad),
                   "malformed `net.speed` event from the agent: phase: `warp` is no phase");
  json neg = j;
  neg["bytes"] = -1;
  EXPECT_TRUE(contains(speed_progress_from_json(neg).error().message, "bytes: -1 is negative"));
}

TEST(SpeedContract, HostileSizesAreRefused) {
  json j = to_json(speed_sample());
  j["bulk"]["intervals"] = json::array();
  for (size_t i = 0; i <= kMaxSpeedIntervals; ++i) j["bulk"]["intervals"].push_back(json::object());
  EXPECT_TRUE(contains(speed_result_from_json(j).error().message,
                       "bulk.intervals: 4097 items, at most 4096 expected"));
  json p = to_json(speed_sample());
  p["bulk"]["tcp_info"]["snd_cwnd"] = 1ULL << 33;
  EXPECT_TRUE(contains(speed_result_from_json(p).error().message,
                       "bulk.tcp_info.snd_cwnd: 8589934592 is out of range"));
}

CaptureResult capture_sample() {
  CaptureResult r;
  r.host = "web1";
  r.interface = "any";
  r.linktype = 276;
  r.linktype_name = "LINUX_SLL2";
  r.snaplen = 262144;
  r.filter = "tcp port 80";
  r.effective_filter = "(tcp port 80) and not (...)";
  r.excluded = CaptureExcluded{"the SSH connection", "10.0.0.9:4000", "10.0.0.5:22", "not (...)"};
  r.count = 10;
  r.notes = {"n"};
  r.stopped_by = "count";
  r.elapsed_ms = 1500;
  r.streamed = true;
  r.file_bytes = 2048;
  r.stats = {10, 1000, true, 20, 1, 0};
  r.traffic.totals.packets = 10;
  r.traffic.totals.tcp = 10;
  TcpFlowSummary f;
  f.client = "10.0.0.9:4000";
  f.server = "10.0.0.5:80";
  f.initiator_known = true;
  f.first_us = 1700000000000000;
  f.duration_ms = 12.5;
  f.packets = {5, 5};
  f.syn_to_synack_ms = 0.5;
  f.state = "closed";
  r.traffic.tcp_flows = {f};
  r.traffic.tcp_flows_total = 3;
  r.traffic.udp_flows = {{"10.0.0.9:5353", "10.0.0.2:53", 1, 0.0, {1, 1}, {80, 120}, {40, 80}}};
  r.traffic.udp_flows_total = 1;
  DnsSummary d;
  d.client = "10.0.0.9:5353";
  d.server = "10.0.0.2:53";
  d.id = 7;
  d.name = "db.example";
  d.type = "A";
  d.queries = 1;
  d.responses = 1;
  d.rcode = "NOERROR";
  d.answers = {"A 10.0.0.5"};
  d.truncated = true;
  d.ms = 1.5;
  r.traffic.dns = {d};
  r.traffic.dns_total = 1;
  r.summary = "web1 on any: 10 packets captured";
  return r;
}

TEST(CaptureContract, ResultRoundTrip) {
  json j = to_json(capture_sample());
  EXPECT_TRUE(j["traffic"]["tcp_flows"][0]["handshake"]["rtt_ms"].is_null());
  EXPECT_TRUE(j["traffic"]["dns"][0]["query_us"].is_null());
  EXPECT_FALSE(j.contains("phase"));
  auto back = capture_result_from_json(over_the_wire(j));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), j) << "field for field";
  ASSERT_TRUE(back->excluded);
  EXPECT_EQ(back->excluded->server, "10.0.0.5:22");
  EXPECT_TRUE(back->stats.kernel_known);
  EXPECT_EQ(back->traffic.tcp_flows[0].syn_to_synack_ms, 0.5);
  EXPECT_FALSE(back->traffic.tcp_flows[0].rtt_ms);
  EXPECT_FALSE(back->traffic.dns[0].query_us);
  EXPECT_TRUE(back->traffic.dns[0].truncated);
  // Without pcap_stats the kernel's counts stay off the wire.
  CaptureResult quiet = capture_sample();
  quiet.stats.kernel_known = false;
  quiet.excluded.reset();
  json q = to_json(quiet);
  EXPECT_FALSE(q["stats"].contains("received"));
  EXPECT_TRUE(q["excluded"].is_null());
  auto qb = capture_result_from_json(over_the_wire(q));
  ASSERT_TRUE(qb) << qb.error().message;
  EXPECT_EQ(to_json(*qb), q);
}

TEST(CaptureContract, EventsRoundTrip) {
  CaptureStarted s = capture_sample();
  auto st = capture_event_from_json(over_the_wire(started_event(s)));
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->phase, CaptureEvent::Phase::kStarted);
  EXPECT_EQ(started_event(st->started), started_event(s));
  json data = over_the_wire(data_event(24, 3, {1, 2, 3}));
  auto d = capture_event_from_json(data);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->phase, CaptureEvent::Phase::kData);
  EXPECT_EQ(d->offset, 24u);
  EXPECT_EQ(d->packets, 3u);
  EXPECT_EQ(std::vector<uint8_t>(d->data.begin(), d->data.end()), (std::vector<uint8_t>{1, 2, 3}));
  auto p = capture_event_from_json(over_the_wire(progress_event(5, 500, 1000)));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->phase, CaptureEvent::Phase::kProgress);
  EXPECT_EQ(p->bytes, 500u);
  EXPECT_EQ(p->elapsed_ms, 1000);
}

TEST(CaptureContract, MalformedNamesTheField) {
  json j = to_json(capture_sample());
  j["traffic"]["tcp_flows"][0]["handshake"]["syn_to_synack_ms"] = "fast";
  expect_malformed(capture_result_from_json(j),
                   "malformed `net.capture` result from the agent: "
                   "traffic.tcp_flows[0].handshake.syn_to_synack_ms: expected a number, got "
                   "string");
  json m = to_json(capture_sample());
  m.erase("stats");
  expect_malformed(capture_result_from_json(m),
                   "malformed `net.capture` result from the agent: stats: missing");
  json data = data_event(0, 0, {});
  data["data"] = "not bytes";
  expect_malformed(capture_event_from_json(data),
                   "malformed `net.capture` event from the agent: data: expected bytes, got "
                   "string");
  EXPECT_TRUE(contains(capture_event_from_json({{"phase", "done"}}).error().message,
                       "phase: `done` is not started, data or progress"));
  json off = data_event(0, 0, {});
  off.erase("offset");
  EXPECT_TRUE(contains(capture_event_from_json(off).error().message, "offset: missing"));
}

TEST(CaptureContract, HostileSizesAreRefused) {
  json j = to_json(capture_sample());
  j["traffic"]["dns"] = json::array();
  for (size_t i = 0; i <= kMaxDnsShown; ++i) j["traffic"]["dns"].push_back(json::object());
  EXPECT_TRUE(contains(capture_result_from_json(j).error().message,
                       "traffic.dns: 201 items, at most 200 expected"));
  json a = to_json(capture_sample());
  a["traffic"]["dns"][0]["answers"] = std::vector<std::string>(kMaxDnsAnswers + 1, "A 1.2.3.4");
  EXPECT_TRUE(
      contains(capture_result_from_json(a).error().message, "traffic.dns[0].answers: 17 items"));
  json id = to_json(capture_sample());
  id["traffic"]["dns"][0]["id"] = 70000;
  EXPECT_TRUE(contains(capture_result_from_json(id).error().message,
                       "traffic.dns[0].id: 70000 is out of range"));
}

}  // namespace
}  // namespace sonde::net
