// The HTTP rung against servers in the test process: a status line and
// headers, a server that never answers, one that answers garbage, one that
// closes, and the head parser on bad input.
#include "sonde/net/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

namespace sonde::net {
namespace {

// A one-shot loopback server: accepts one connection, reads the request head,
// then does `reply` (sends it, or with an empty reply holds the connection
// for hold_ms before closing).
class OneShot {
 public:
  explicit OneShot(std::string reply, int hold_ms = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 1);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    t_ = std::thread([this, reply, hold_ms] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      std::string got;
      while (got.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      request_ = got;
      if (!reply.empty()) ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      if (hold_ms) std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
      ::close(c);
    });
  }
  ~OneShot() {
    ::shutdown(fd_, SHUT_RDWR);
    t_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  const std::string& request() const { return request_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread t_;
  std::string request_;
};

TEST(HttpProbe, StatusHeadersAndBody) {
  OneShot s(
      "HTTP/1.1 503 Service Unavailable\r\nServer: test\r\nContent-Length: 5\r\n"
      "Retry-After: 30\r\n\r\nbusy!");
  HttpRequest r;
  r.host = "127.0.0.1";
  r.port = s.port();
  r.path = "/health";
  r.timeout_ms = 3000;
  HttpResult out = http_probe(r);
  ASSERT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.status, 503);
  EXPECT_EQ(out.reason, "Service Unavailable");
  EXPECT_EQ(out.headers["server"], "test");
  EXPECT_EQ(out.headers["retry-after"], "30");
  EXPECT_EQ(out.body_bytes, 5u);
  EXPECT_EQ(out.address, "127.0.0.1");
  EXPECT_EQ(out.summary, "HTTP 503 Service Unavailable in " + std::to_string(out.ttfb_ms) + " ms");
}

TEST(HttpProbe, RequestCarriesPathAndHost) {
  OneShot s("HTTP/1.0 200 OK\r\n\r\n");
  HttpRequest r;
  r.host = "127.0.0.1";
  r.port = s.port();
  r.path = "/a/b?c=1";
  r.timeout_ms = 3000;
  HttpResult out = http_probe(r);
  EXPECT_EQ(out.status, 200);
  EXPECT_NE(s.request().find("GET /a/b?c=1 HTTP/1.1\r\n"), std::string::npos) << s.request();
  EXPECT_NE(s.request().find("Host: 127.0.0.1:" + std::to_string(s.port()) + "\r\n"),
            std::string::npos)
      << s.request();
}

TEST(HttpProbe, SilentServerTimesOut) {
  OneShot s("", 1500);
  HttpRequest r;
  r.host = "127.0.0.1";
  r.port = s.port();
  r.timeout_ms = 300;
  HttpResult out = http_probe(r);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.stage, "response");
  EXPECT_EQ(out.error, "no response before the timeout");
}

TEST(HttpProbe, GarbageAndClose) {
  {
    OneShot s("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    HttpRequest r;
    r.host = "127.0.0.1";
    r.port = s.port();
    r.timeout_ms = 3000;
    HttpResult out = http_probe(r);
    EXPECT_FALSE(out.ok);
    EXPECT_NE(out.error.find("not an HTTP response: \"SSH-2.0"), std::string::npos) << out.error;
    EXPECT_EQ(out.status, 0) << "nothing of the response is kept";
  }
  {
    OneShot s("");
    HttpRequest r;
    r.host = "127.0.0.1";
    r.port = s.port();
    r.timeout_ms = 3000;
    HttpResult out = http_probe(r);
    EXPECT_FALSE(out.ok);
    EXPECT_NE(out.error.find("closed"), std::string::npos) << out.error;
  }
}

TEST(HttpProbe, RefusedAndUnresolvedAndBadPath) {
  HttpRequest r;
  r.host = "127.0.0.1";
  {
    OneShot s("x");
    r.port = s.port();
  }
  r.timeout_ms = 2000;
  HttpResult out = http_probe(r);  // the port was closed with its server
  EXPECT_EQ(out.stage, "connect");
  EXPECT_EQ(out.address, "127.0.0.1");
  r.host = "no-such-host.invalid";
  out = http_probe(r);
  EXPECT_EQ(out.stage, "resolve");
  EXPECT_EQ(out.address, "") << "it never got to an address";
  r.host = "127.0.0.1";
  r.path = "no-slash";
  EXPECT_FALSE(http_probe(r).ok);
}

TEST(HttpHead, ParserRejectsWhatIsNotHttp) {
  HttpResult out;
  EXPECT_FALSE(parse_http_head("", out));
  EXPECT_FALSE(parse_http_head("HTTP/1.1 2", out));
  EXPECT_FALSE(parse_http_head("HTTP/1.1 abc Bad\r\n", out));
  EXPECT_FALSE(parse_http_head("HTTP/2 200\r\n", out));
  EXPECT_TRUE(parse_http_head("HTTP/1.1 204\r\nX: y\r\nbroken header\r\n", out));
  EXPECT_EQ(out.status, 204);
  EXPECT_EQ(out.reason, "");
}

}  // namespace
}  // namespace sonde::net
