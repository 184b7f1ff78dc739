// The DNS codec on packets built by hand from the RFC 1035 layout.
#include <gtest/gtest.h>

#include <random>

#include "sonde/net/dns.h"

namespace sonde::net {
namespace {

using Bytes = std::vector<uint8_t>;

void name(Bytes& b, std::initializer_list<const char*> labels) {
  for (const char* l : labels) {
    b.push_back(static_cast<uint8_t>(std::strlen(l)));
    b.insert(b.end(), l, l + std::strlen(l));
  }
  b.push_back(0);
}
void u16(Bytes& b, unsigned v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void u32(Bytes& b, uint32_t v) {
  u16(b, v >> 16);
  u16(b, v & 0xFFFF);
}

// Header + question www.example.com (offset 12), then answers appended.
Bytes header(unsigned flags, unsigned an, unsigned qtype = 1) {
  Bytes b;
  u16(b, 0x1234);
  u16(b, flags);
  u16(b, 1);
  u16(b, an);
  u16(b, 0);
  u16(b, 0);
  name(b, {"www", "example", "com"});
  u16(b, qtype);
  u16(b, 1);
  return b;
}
void rr_head(Bytes& b, unsigned type, uint32_t ttl, unsigned rdlen) {
  u16(b, 0xC00C);  // pointer to the question name
  u16(b, type);
  u16(b, 1);
  u32(b, ttl);
  u16(b, rdlen);
}

TEST(DnsCodec, EncodeQueryLayout) {
  auto q = dns_encode_query(0xBEEF, "www.example.com.", dnstype::kAAAA);
  ASSERT_TRUE(q.ok());
  Bytes want = {0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  name(want, {"www", "example", "com"});
  u16(want, 28);
  u16(want, 1);
  EXPECT_EQ(*q, want);
  auto d = dns_decode(q->data(), q->size());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->questions.at(0).name, "www.example.com.");
  EXPECT_FALSE(d->response);
}

TEST(DnsCodec, EncodeRejectsBadNames) {
  EXPECT_FALSE(dns_encode_query(1, "a..b", 1).ok());
  EXPECT_FALSE(dns_encode_query(1, "", 1).ok());
  EXPECT_FALSE(dns_encode_query(1, std::string(64, 'a') + ".com", 1).ok());
  std::string longname;
  for (int i = 0; i < 50; ++i) longname += "abcdef.";
  EXPECT_FALSE(dns_encode_query(1, longname, 1).ok());
}

TEST(DnsCodec, DecodesEveryType) {
  Bytes b = header(0x8180, 7);
  rr_head(b, 1, 300, 4);
  b.insert(b.end(), {198, 18, 0, 5});
  rr_head(b, 28, 60, 16);
  Bytes v6(16, 0);
  v6[0] = 0x20;
  v6[1] = 0x01;
  v6[2] = 0x0d;
  v6[3] = 0xb8;
  v6[15] = 1;
  b.insert(b.end(), v6.begin(), v6.end());
  rr_head(b, 5, 10, 2);
  u16(b, 0xC00C);  // CNAME → the question name, compressed
  rr_head(b, 15, 10, 2 + 7);
  u16(b, 10);
  name(b, {"mail"});
  b.back() = 0xC0;  // "mail" + pointer to example.com (offset 16)
  b.push_back(16);
  rr_head(b, 33, 10, 6 + 2);
  u16(b, 1);
  u16(b, 2);
  u16(b, 5060);
  u16(b, 0xC00C);
  rr_head(b, 16, 10, 12);
  b.push_back(5);
  b.insert(b.end(), {'h', 'e', 'l', 'l', 'o'});
  b.push_back(5);
  b.insert(b.end(), {'w', '"', 'r', 'l', 'd'});
  rr_head(b, 12, 10, 2);
  u16(b, 0xC00C);
  auto m = dns_decode(b.data(), b.size());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_TRUE(m->response);
  EXPECT_EQ(m->rcode, 0);
  ASSERT_EQ(m->answers.size(), 7u);
  EXPECT_EQ(m->answers[0].data, "198.18.0.5");
  EXPECT_EQ(m->answers[0].ttl, 300u);
  EXPECT_EQ(m->answers[0].name, "www.example.com.");
  EXPECT_EQ(m->answers[1].data, "2001:db8::1");
  EXPECT_EQ(m->answers[2].data, "www.example.com.");
  EXPECT_EQ(m->answers[3].data, "10 mail.example.com.");
  EXPECT_EQ(m->answers[4].data, "1 2 5060 www.example.com.");
  EXPECT_EQ(m->answers[5].data, "\"hello\" \"w\\\"rld\"");
  EXPECT_EQ(m->answers[6].type, dnstype::kPTR);
}

TEST(DnsCodec, SoaAndRcode) {
  Bytes b = header(0x8183, 1);  // NXDOMAIN
  Bytes soa;
  name(soa, {"ns"});
  soa.back() = 0xC0;
  soa.push_back(16);
  soa.push_back(0);  // root as RNAME
  for (uint32_t v : {1u, 2u, 3u, 4u, 5u}) u32(soa, v);
  rr_head(b, 6, 10, static_cast<unsigned>(soa.size()));
  b.insert(b.end(), soa.begin(), soa.end());
  auto m = dns_decode(b.data(), b.size());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(dns_rcode_name(m->rcode), "NXDOMAIN");
  EXPECT_EQ(m->answers.at(0).data, "ns.example.com. . 1 2 3 4 5");
}

TEST(DnsCodec, TruncationsAreErrors) {
  Bytes b = header(0x8180, 1);
  rr_head(b, 1, 300, 4);
  b.insert(b.end(), {198, 18, 0, 5});
  ASSERT_TRUE(dns_decode(b.data(), b.size()).ok());
  for (size_t n = 0; n < b.size(); ++n) EXPECT_FALSE(dns_decode(b.data(), n).ok()) << n;
}

TEST(DnsCodec, CompressionLoopsAndBadPointers) {
  Bytes b = header(0x8180, 1);
  size_t at = b.size();
  u16(b, 0xC000 | static_cast<unsigned>(at));  // points at itself
  u16(b, 1);
  u16(b, 1);
  u32(b, 1);
  u16(b, 0);
  EXPECT_FALSE(dns_decode(b.data(), b.size()).ok());
  b[at] = 0xC0 | 0x3F;  // far past the end
  b[at + 1] = 0xFF;
  EXPECT_FALSE(dns_decode(b.data(), b.size()).ok());
  b[at] = 0x80;  // reserved label type
  EXPECT_FALSE(dns_decode(b.data(), b.size()).ok());
}

TEST(DnsCodec, WrongRdataLengths) {
  Bytes b = header(0x8180, 1);
  rr_head(b, 1, 300, 3);
  b.insert(b.end(), {1, 2, 3});
  EXPECT_FALSE(dns_decode(b.data(), b.size()).ok());
  Bytes c = header(0x8180, 1);
  rr_head(c, 16, 1, 3);
  c.insert(c.end(), {9, 'a', 'b'});  // TXT string longer than its record
  EXPECT_FALSE(dns_decode(c.data(), c.size()).ok());
  Bytes d = header(0x8180, 1);
  rr_head(d, 5, 1, 1);  // CNAME name running past its record
  d.insert(d.end(), {3, 'a', 'b', 'c', 0});
  EXPECT_FALSE(dns_decode(d.data(), d.size()).ok());
}

TEST(DnsCodec, BoundedFuzzNeverCrashes) {
  Bytes base = header(0x8180, 2);
  rr_head(base, 15, 10, 4);
  u16(base, 5);
  u16(base, 0xC00C);
  rr_head(base, 16, 10, 3);
  base.insert(base.end(), {2, 'h', 'i'});
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    Bytes b = base;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    b.resize(rng() % (b.size() + 1));
    (void)dns_decode(b.data(), b.size());
    Bytes r(rng() % 64);
    for (auto& x : r) x = static_cast<uint8_t>(rng());
    (void)dns_decode(r.data(), r.size());
  }
  SUCCEED();
}

TEST(DnsPtr, Names) {
  EXPECT_EQ(dns_ptr_name("198.18.0.5"), "5.0.18.198.in-addr.arpa");
  EXPECT_EQ(dns_ptr_name("2001:db8::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_EQ(dns_ptr_name("example.com"), "");
}

TEST(DnsTypes, Names) {
  EXPECT_EQ(*dns_type_from_string("srv"), dnstype::kSRV);
  EXPECT_FALSE(dns_type_from_string("BOGUS").ok());
  EXPECT_EQ(dns_type_name(99), "TYPE99");
}

TEST(DnsResolvConf, Parses) {
  auto rc = parse_resolv_conf(
      "# comment\nnameserver 127.0.0.53\nnameserver ::1 ; trailing\nsearch a.example b.example\n"
      "options edns0 timeout:3 attempts:9 rotate\nnameserver\nbogus line\n");
  EXPECT_EQ(rc.nameservers, (std::vector<std::string>{"127.0.0.53", "::1"}));
  EXPECT_EQ(rc.search, (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(rc.timeout_s, 3);
  EXPECT_EQ(rc.attempts, 5);  // clamped like glibc
  EXPECT_EQ(parse_resolv_conf("").nameservers.size(), 0u);
}

TEST(DnsDifferences, PointsAtDisagreements) {
  auto side = [](const char* label, std::vector<std::string> sys, const char* rcode,
                 const char* data) {
    json answers = json::array();
    if (*data) answers.push_back({{"name", "x."}, {"type", "A"}, {"ttl", 1}, {"data", data}});
    return json{{"side", label},
                {"result",
                 {{"system", {{"addresses", sys}, {"error", ""}}},
                  {"nameservers", json::array({{{"server", "127.0.0.1"},
                                                {"rcode", rcode},
                                                {"answers", answers},
                                                {"error", ""}}})}}}};
  };
  auto d = dns_differences({side("local", {"198.18.0.5"}, "NOERROR", "198.18.0.5"),
                            side("web1", {"198.18.0.7"}, "NXDOMAIN", "")});
  std::string all;
  for (const auto& s : d) all += s + "\n";
  EXPECT_NE(all.find("local resolves 198.18.0.5, web1 resolves 198.18.0.7"), std::string::npos)
      << all;
  EXPECT_NE(all.find("answers NXDOMAIN"), std::string::npos) << all;
  EXPECT_NE(all.find("web1: the system resolver returns 198.18.0.7 that no nameserver gave"),
            std::string::npos)
      << all;
  EXPECT_TRUE(dns_differences({side("a", {"1.1.1.1"}, "NOERROR", "1.1.1.1"),
                               side("b", {"1.1.1.1"}, "NOERROR", "1.1.1.1")})
                  .empty());
}

}  // namespace
}  // namespace sonde::net
