// dns_query_server against a fake server on loopback: a truncated UDP reply
// must be retried over TCP; a wrong-id reply is ignored; garbage is an error.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "sonde/net/dns.h"

namespace sonde::net {
namespace {

using Bytes = std::vector<uint8_t>;

// The reply to query q: same id and question, flags, one A record.
Bytes reply(const Bytes& q, unsigned flags, bool with_answer) {
  Bytes r(q.begin(), q.end());
  r[2] = static_cast<uint8_t>(flags >> 8);
  r[3] = static_cast<uint8_t>(flags);
  r[7] = with_answer ? 1 : 0;
  if (with_answer) r.insert(r.end(), {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 7});
  return r;
}

struct FakeServer {
  int udp = -1, tcp = -1, port = 0;
  std::thread th;
  FakeServer(bool garbage) {
    udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(udp, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::getsockname(udp, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) port = 0;
    ::listen(tcp, 1);
    th = std::thread([this, garbage] {
      pollfd p{udp, POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) return;
      uint8_t buf[512];
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      ssize_t n = ::recvfrom(udp, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n <= 0) return;
      Bytes q(buf, buf + n);
      auto send = [&](const Bytes& b) {
        ::sendto(udp, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
      };
      Bytes wrong = reply(q, 0x8180, true);
      wrong[0] ^= 0xFF;  // another id: must be ignored
      send(wrong);
      if (garbage) {
        Bytes g = reply(q, 0x8180, true);
        g.resize(g.size() - 3);
        send(g);
        return;
      }
      send(reply(q, 0x8380, false));  // TC set
      pollfd t{tcp, POLLIN, 0};
      if (::poll(&t, 1, 5000) != 1) return;
      int c = ::accept(tcp, nullptr, nullptr);
      uint8_t lb[2];
      if (::recv(c, lb, 2, MSG_WAITALL) != 2) return;
      Bytes tq(static_cast<size_t>(lb[0] << 8 | lb[1]));
      ::recv(c, tq.data(), tq.size(), MSG_WAITALL);
      Bytes r = reply(tq, 0x8180, true);
      Bytes out = {static_cast<uint8_t>(r.size() >> 8), static_cast<uint8_t>(r.size())};
      out.insert(out.end(), r.begin(), r.end());
      ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
      ::close(c);
    });
  }
  ~FakeServer() {
    th.join();
    ::close(udp);
    ::close(tcp);
  }
};

TEST(DnsQuery, TruncatedUdpRetriesOverTcp) {
  FakeServer s(false);
  ASSERT_NE(s.port, 0);
  auto a = dns_query_server("127.0.0.1:" + std::to_string(s.port), "big.sonde-test.example",
                            dnstype::kA, 3000, nullptr);
  EXPECT_EQ(a.error, "");
  EXPECT_TRUE(a.truncated_retried);
  EXPECT_EQ(a.rcode, "NOERROR");
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(a.answers[0].data, "198.18.0.7");
}

TEST(DnsQuery, GarbageReplyIsAnError) {
  FakeServer s(true);
  auto a = dns_query_server("127.0.0.1:" + std::to_string(s.port), "x.sonde-test.example",
                            dnstype::kA, 3000, nullptr);
  EXPECT_NE(a.error.find("malformed"), std::string::npos) << a.error;
}

TEST(DnsQuery, BadServerAddress) {
  auto a = dns_query_server("not-an-ip", "x.example", dnstype::kA, 100, nullptr);
  EXPECT_NE(a.error.find("bad nameserver address"), std::string::npos);
  auto b = dns_query_server("[::1]:99999", "x.example", dnstype::kA, 100, nullptr);
  EXPECT_NE(b.error.find("port"), std::string::npos);
}

}  // namespace
}  // namespace sonde::net
