// The net ops' contracts: args and results survive the wire, validate()
// judges a request, malformed peer data names the field.
#include <gtest/gtest.h>

#include "sonde/common/json_read.h"
#include "sonde/net/capture_contract.h"
#include "sonde/net/connect_contract.h"
#include "sonde/net/dns_contract.h"
#include "sonde/net/http_contract.h"
#include "sonde/net/speed_contract.h"

#include <sys/socket.h>
#include "support/contains.h"
#include "support/wire.h"

namespace sonde::net {
namespace {

using sonde::testing::contains;
using sonde::testing::over_the_wire;

TEST(DnsContract, ArgsRoundTrip) {
  DnsArgs a;
  a.name = "db.internal";
  a.type = "AAAA";
  a.timeout_ms = 1500;
  a.nameservers = std::vector<std::string>{"127.0.0.1:5353", "[::1]:53"};
  a.resolv_conf = "/tmp/resolv.conf";
  auto back = dns_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->name, "db.internal");
  EXPECT_EQ(back->type, "AAAA");
  EXPECT_EQ(back->timeout_ms, 1500);
  ASSERT_TRUE(back->nameservers);
  EXPECT_EQ(back->nameservers->size(), 2u);
  EXPECT_EQ(back->resolv_conf, "/tmp/resolv.conf");
  // Defaults stay off the wire: an older agent picks its own.
  json j = to_json(DnsArgs{"x", "", 0, std::nullopt, "/etc/resolv.conf"});
  EXPECT_FALSE(j.contains("type"));
  EXPECT_FALSE(j.contains("nameservers"));
  EXPECT_FALSE(j.contains("resolv_conf"));
  EXPECT_FALSE(dns_args_from_json(j)->nameservers);
}

TEST(DnsContract, ValidateAndMalformedArgs) {
  DnsArgs a;
  a.name = "example.org";
  EXPECT_TRUE(validate(a));
  a.type = "BOGUS";
  auto t = validate(a);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, errc::kBadArgs);
  EXPECT_TRUE(contains(t.error().message, "unknown record type `BOGUS`"));
  a.type = "";
  a.timeout_ms = kMaxDnsTimeoutMs + 1;
  EXPECT_TRUE(contains(validate(a).error().message, "--timeout"));
  a.timeout_ms = 0;
  a.nameservers = std::vector<std::string>(kMaxNameservers + 1, "1.1.1.1");
  EXPECT_TRUE(contains(validate(a).error().message, "at most 16 nameservers"));
  EXPECT_TRUE(contains(validate(DnsArgs{}).error().message, "1..255"));

  auto r = dns_args_from_json({{"name", "x"}, {"nameservers", {"1.1.1.1", 53}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::kBadArgs);
  EXPECT_EQ(r.error().message,
            "bad `net.dns` arguments: nameservers[1]: expected a string, got number");
}

DnsResult sample() {
  DnsResult r;
  r.host = "web1";
  r.query_name = "db.internal";
  r.query_type = "A";
  r.system.addresses = {"198.18.0.5"};
  r.system.ms = 3;
  ServerAnswer s;
  s.server = "127.0.0.1";
  s.rcode = "NOERROR";
  s.answers = {DnsRecord{"db.internal", 1, 1, 300, "198.18.0.5"},
               DnsRecord{"db.internal", 99, 1, 60, "\\# 0"}};
  s.ms = 2;
  r.nameservers = {s};
  r.search = {"internal"};
  r.notes = {"n"};
  return r;
}

TEST(DnsContract, ResultRoundTrip) {
  auto back = dns_result_from_json(over_the_wire(to_json(sample())));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->host, "web1");
  EXPECT_EQ(back->query_name, "db.internal");
  EXPECT_EQ(back->query_type, "A");
  EXPECT_EQ(back->system.addresses, (std::vector<std::string>{"198.18.0.5"}));
  ASSERT_EQ(back->nameservers.size(), 1u);
  ASSERT_EQ(back->nameservers[0].answers.size(), 2u);
  EXPECT_EQ(back->nameservers[0].answers[0].type, dnstype::kA);
  EXPECT_EQ(back->nameservers[0].answers[0].ttl, 300u);
  // A type with no name travels as TYPE99 and comes back as 99.
  EXPECT_EQ(back->nameservers[0].answers[1].type, 99);
  EXPECT_EQ(back->search, (std::vector<std::string>{"internal"}));
}

TEST(DnsContract, MalformedResultNamesTheField) {
  json j = to_json(sample());
  j["nameservers"][0]["answers"][0]["ttl"] = -5;
  auto r = dns_result_from_json(j);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::kProtocol);
  EXPECT_EQ(r.error().message,
            "malformed `net.dns` result from the agent: nameservers[0].answers[0].ttl: -5 is "
            "negative");
  EXPECT_EQ(r.error().hint, kPeerMismatchHint);
  json t = to_json(sample());
  t["nameservers"][0]["answers"][0]["type"] = "TYPE70000";
  EXPECT_TRUE(contains(dns_result_from_json(t).error().message, "unknown record type"));
  json s = to_json(sample());
  s["system"] = "ok";
  EXPECT_TRUE(contains(dns_result_from_json(s).error().message, "system: expected a map"));
  json q = to_json(sample());
  q["query"]["name"] = json::array();
  EXPECT_TRUE(contains(dns_result_from_json(q).error().message, "query.name"));
}

TEST(ConnectContract, ArgsRoundTripAndDefaults) {
  ConnectOptions o;
  o.host = "web1";
  o.port = 443;
  o.count = 5;
  o.interval_ms = 200;
  o.timeout_ms = 1500;
  o.hold_ms = 10000;
  o.family = AF_INET6;
  o.all_addresses = true;
  json j = over_the_wire(connect_args_json(o));
  EXPECT_EQ(j["family"], "6");
  auto back = connect_args_from_json(j);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->host, "web1");
  EXPECT_EQ(back->port, 443);
  EXPECT_EQ(back->count, 5);
  EXPECT_EQ(back->interval_ms, 200);
  EXPECT_EQ(back->timeout_ms, 1500);
  EXPECT_EQ(back->hold_ms, 10000);
  EXPECT_EQ(back->family, AF_INET6);
  EXPECT_TRUE(back->all_addresses);
  EXPECT_TRUE(validate(*back));
  // An older controller leaves fields out: one attempt, any family.
  auto min = connect_args_from_json({{"host", "h"}, {"port", 1}});
  ASSERT_TRUE(min);
  EXPECT_EQ(min->count, 1);
  EXPECT_EQ(min->family, AF_UNSPEC);
}

TEST(ConnectContract, MalformedArgsNameTheField) {
  auto f = connect_args_from_json({{"host", "h"}, {"port", 1}, {"family", "5"}});
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, errc::kBadArgs);
  EXPECT_TRUE(contains(f.error().message, "family: `5` is not"));
  auto p = connect_args_from_json({{"host", "h"}, {"port", "https"}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message,
            "bad `net.connect` arguments: port: expected an integer, got string");
  EXPECT_TRUE(contains(connect_args_from_json({{"count", 1ULL << 35}}).error().message,
                       "count: 34359738368 is out of range"));
}

TEST(HttpContract, ArgsRoundTripValidateAndMalformed) {
  HttpRequest h;
  h.host = "web1";
  h.port = 8443;
  h.path = "/health";
  h.tls = true;
  h.sni = "web.example";
  h.host_header = "web.example:8443";
  h.timeout_ms = 2500;
  auto back = http_args_from_json(over_the_wire(http_args_json(h)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->host, "web1");
  EXPECT_EQ(back->port, 8443);
  EXPECT_EQ(back->path, "/health");
  EXPECT_TRUE(back->tls);
  EXPECT_EQ(back->sni, "web.example");
  EXPECT_EQ(back->host_header, "web.example:8443");
  EXPECT_EQ(back->timeout_ms, 2500);
  EXPECT_TRUE(validate(*back));
  // No port: the scheme's.
  EXPECT_EQ(http_args_from_json({{"host", "h"}, {"tls", true}})->port, 443);
  EXPECT_EQ(http_args_from_json({{"host", "h"}})->port, 80);

  h.path = "health";
  EXPECT_TRUE(contains(validate(h).error().message, "must start with '/'"));
  h.path = "/";
  h.timeout_ms = 0;
  EXPECT_TRUE(contains(validate(h).error().message, "timeout"));
  h.timeout_ms = 1;
  h.port = 70000;
  EXPECT_TRUE(contains(validate(h).error().message, "port 70000"));
  h.port = 80;
  h.host.clear();
  EXPECT_EQ(validate(h).error().code, errc::kBadArgs);
  EXPECT_EQ(http_args_from_json({{"host", "h"}, {"tls", "yes"}}).error().message,
            "bad `net.http` arguments: tls: expected a boolean, got string");
}

TEST(SpeedContract, ArgsRoundTripValidateAndMalformed) {
  SpeedArgs a{SpeedDirection::kDownload, 2000, 50, 30000, "10.0.0.5", "10.0.0.5"};
  auto back = speed_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->direction, SpeedDirection::kDownload);
  EXPECT_EQ(back->duration_ms, 2000);
  EXPECT_EQ(back->rtt_count, 50);
  EXPECT_EQ(back->accept_timeout_ms, 30000);
  EXPECT_EQ(back->bind, "10.0.0.5");
  EXPECT_EQ(back->connect_to, "10.0.0.5");
  EXPECT_TRUE(validate(a));
  EXPECT_FALSE(to_json(SpeedArgs{}).contains("bind"));

  SpeedArgs d = a;
  d.duration_ms = 50;
  EXPECT_TRUE(contains(validate(d).error().message, "--duration must be 100ms..300s"));
  SpeedArgs r = a;
  r.rtt_count = -1;
  EXPECT_TRUE(contains(validate(r).error().message, "--rtt-count"));
  SpeedArgs w = a;
  w.bind = "0.0.0.0";
  auto wild = validate(w);
  ASSERT_FALSE(wild);
  EXPECT_TRUE(contains(wild.error().message, "not every interface"));
  EXPECT_FALSE(wild.error().hint.empty());

  EXPECT_TRUE(contains(speed_args_from_json({{"direction", "sideways"}}).error().message,
                       "direction: `sideways` is not upload or download"));
  EXPECT_TRUE(contains(speed_args_from_json({{"rtt_count", 0.5}}).error().message,
                       "rtt_count: expected an integer, got number"));
}

TEST(CaptureContract, ArgsRoundTripValidateAndMalformed) {
  CaptureArgs a;
  a.interface = "eth0";
  a.filter = "tcp port 443";
  a.snaplen = 0;
  a.count = 10;
  a.duration_ms = 0;
  a.promisc = true;
  a.stream = false;
  a.exclude_ssh = false;
  a.buffer_kib = 8192;
  a.flows = 5;
  auto back = capture_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->interface, "eth0");
  EXPECT_EQ(back->filter, "tcp port 443");
  EXPECT_EQ(back->snaplen, 0);
  EXPECT_EQ(back->count, 10);
  EXPECT_EQ(back->duration_ms, 0);
  EXPECT_TRUE(back->promisc);
  EXPECT_FALSE(back->stream);
  EXPECT_FALSE(back->exclude_ssh);
  EXPECT_EQ(back->buffer_kib, 8192);
  EXPECT_EQ(back->flows, 5);
  EXPECT_TRUE(validate(a));
  EXPECT_EQ(capture_args_from_json({{"interface", ""}})->interface, "any");

  CaptureArgs s = a;
  s.snaplen = kMaxSnaplen + 1;
  EXPECT_TRUE(contains(validate(s).error().message, "--snaplen"));
  CaptureArgs f = a;
  f.filter.assign(kMaxCaptureFilter + 1, 'x');
  EXPECT_TRUE(contains(validate(f).error().message, "8 KiB"));
  CaptureArgs b = a;
  b.buffer_kib = 1;
  EXPECT_TRUE(contains(validate(b).error().message, "--buffer-size"));
  CaptureArgs d = a;
  d.duration_ms = -1;
  EXPECT_TRUE(contains(validate(d).error().message, "--duration"));
  EXPECT_EQ(capture_args_from_json({{"promisc", "no"}}).error().message,
            "bad `net.capture` arguments: promisc: expected a boolean, got string");
}

}  // namespace
}  // namespace sonde::net
