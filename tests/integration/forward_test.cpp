// `sonde forward` end to end: the real sonde binary forwarding through a real
// OpenSSH sshd on 127.0.0.1 (tests/fixtures/sshd.sh) to real TCP servers in
// this test. Covers data integrity over many concurrent connections,
// half-close both ways, a stuck connection that must not stall another, the
// bind address, a refused remote port, Ctrl-C, --json, the `local` target,
// and argument / connect errors. Every wait is bounded; no timing asserts.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sonde/common/ports.h"
#include "sonde/common/protocol.h"
#include "sonde/common/sha256.h"
#include "support/contains.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

const std::string kSonde = std::string(SONDE_BIN_DIR) + "/sonde";
constexpr int kIoTimeoutMs = 20000;  // any single client exchange

// ---- a real TCP server with a few behaviours, picked by the first line ----
//   ECHO   echoes every byte until EOF, then closes
//   REPLY  reads until EOF, then sends "<bytes> <sha256>\n" and closes
//   HELLO  sends "HELLO\n" and closes at once (the server closes first)
//   SINK   never reads again (its peer's buffers fill up)
//   FLOOD  writes until the connection breaks
class TestServer {
 public:
  explicit TestServer(int port = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 128) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TestServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    {
      std::lock_guard<std::mutex> g(mu_);
      for (int c : conns_) ::shutdown(c, SHUT_RDWR);
    }
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& t : workers_) t.join();
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void accept_loop() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (stop_) return;
        continue;
      }
      ++accepted_;
      std::lock_guard<std::mutex> g(mu_);
      conns_.push_back(c);
      workers_.emplace_back([this, c] { serve(c); });
    }
  }
  void serve(int c) {
    std::string mode;
    char ch;
    while (mode.size() < 16 && ::read(c, &ch, 1) == 1 && ch != '\n') mode += ch;
    std::vector<char> buf(65536);
    if (mode == "ECHO") {
      for (;;) {
        ssize_t n = ::read(c, buf.data(), buf.size());
        if (n <= 0) break;
        if (!write_all(c, buf.data(), static_cast<size_t>(n))) break;
      }
    } else if (mode == "REPLY") {
      std::string all;
      for (;;) {
        ssize_t n = ::read(c, buf.data(), buf.size());
        if (n <= 0) break;
        all.append(buf.data(), static_cast<size_t>(n));
      }
      std::string reply = std::to_string(all.size()) + " " + sha256_hex(all) + "\n";
      write_all(c, reply.data(), reply.size());
    } else if (mode == "HELLO") {
      write_all(c, "HELLO\n", 6);
    } else if (mode == "SINK") {
      while (!stop_) ::usleep(20000);
    } else if (mode == "FLOOD") {
      std::fill(buf.begin(), buf.end(), 'f');
      while (!stop_ && write_all(c, buf.data(), buf.size())) {
      }
    }
    ::shutdown(c, SHUT_WR);
    // Whatever is still in flight toward us is drained, so close sends FIN
    // rather than a reset that could eat the reply.
    ::fcntl(c, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 50 && ::read(c, buf.data(), buf.size()) > 0; ++i) {
    }
    std::lock_guard<std::mutex> g(mu_);
    conns_.erase(std::find(conns_.begin(), conns_.end(), c));
    ::close(c);
  }
  static bool write_all(int c, const char* p, size_t n) {
    while (n) {
      ssize_t w = ::send(c, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w, n -= static_cast<size_t>(w);
    }
    return true;
  }

  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::vector<int> conns_;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

// ---- client side ----

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, std::min<size_t>(8, n - i));
  }
  return s;
}

// Sends `data` (then shuts the write side when shut_write) while reading
// everything the server sends until EOF, with one overall deadline. nullopt
// on timeout or error.
std::optional<std::string> talk(int fd, const std::string& data, bool shut_write = true,
                                int timeout_ms = kIoTimeoutMs) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::string got;
  size_t off = 0;
  bool shut = false;
  long deadline = tracee_now_ms() + timeout_ms;
  std::vector<char> buf(65536);
  for (;;) {
    if (off == data.size() && shut_write && !shut) {
      ::shutdown(fd, SHUT_WR);
      shut = true;
    }
    long left = deadline - tracee_now_ms();
    if (left <= 0) return std::nullopt;
    pollfd p{fd, static_cast<short>(POLLIN | (off < data.size() ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, static_cast<int>(std::min(left, 200L))) < 0 && errno != EINTR)
      return std::nullopt;
    if (p.revents & POLLOUT) {
      ssize_t n =
          ::send(fd, data.data() + off, std::min<size_t>(data.size() - off, 65536), MSG_NOSIGNAL);
      if (n > 0) off += static_cast<size_t>(n);
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n > 0) got.append(buf.data(), static_cast<size_t>(n));
      if (n == 0) return off == data.size() ? std::optional<std::string>(got) : std::nullopt;
      if (n < 0 && errno != EAGAIN && errno != EINTR) return std::nullopt;
    }
  }
}

// Reads until EOF (or reset, reported as "<reset>"), bounded.
std::optional<std::string> read_to_eof(int fd, int timeout_ms = kIoTimeoutMs) {
  std::string got;
  long deadline = tracee_now_ms() + timeout_ms;
  char buf[4096];
  for (;;) {
    long left = deadline - tracee_now_ms();
    if (left <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min(left, 200L))) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      got.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return got;
    if (errno == ECONNRESET) return got + "<reset>";
    if (errno != EAGAIN && errno != EINTR) return std::nullopt;
  }
}

// ---- sonde forward as a child process ----

class Forward {
 public:
  // Starts `sonde [global] forward TARGET REMOTE_PORT [extra]` and reads the
  // port from its first line. nullptr (with a test failure) when it does not
  // come up.
  static std::unique_ptr<Forward> start(const Sshd* sshd, const std::string& target,
                                        int remote_port, std::vector<std::string> extra = {},
                                        bool as_json = false) {
    std::vector<std::string> argv = {kSonde};
    if (as_json) argv.push_back("--json");
    argv.insert(argv.end(), {"forward", target, std::to_string(remote_port)});
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::map<std::string, std::string> env;
    if (sshd) env["HOME"] = sshd->home();
    auto t = Tracee::start(argv, env);
    if (!t) {
      ADD_FAILURE() << "cannot start sonde";
      return nullptr;
    }
    auto line = t->next_line(20000);
    if (!line) {
      t->pump(200);
      ADD_FAILURE() << "sonde forward printed no first line; stderr: " << t->err();
      return nullptr;
    }
    std::unique_ptr<Forward> f(new Forward(std::move(t)));
    f->first_line = *line;
    if (as_json) {
      json j = json::parse(*line, nullptr, false);
      if (!j.is_object() || !j.contains("local_port")) {
        ADD_FAILURE() << "not a JSON listening line: " << *line;
        return nullptr;
      }
      f->port = j["local_port"].get<int>();
    } else {
      // "forwarding 127.0.0.1:PORT -> HOST:PORT on ..."
      auto colon = line->find(':');
      auto space = line->find(' ', colon == std::string::npos ? 0 : colon);
      if (line->rfind("forwarding ", 0) != 0 || colon == std::string::npos) {
        ADD_FAILURE() << "unexpected first line: " << *line;
        return nullptr;
      }
      f->port = std::stoi(line->substr(colon + 1, space - colon - 1));
    }
    return f;
  }
  ~Forward() {
    if (!t_->reaped()) {
      t_->signal(SIGKILL);
      t_->wait(5000);
    }
  }
  // Ctrl-C; the exit code, or -1 if it did not exit in time.
  int interrupt() {
    t_->signal(SIGINT);
    auto st = t_->wait(10000);
    if (!st) return -1;
    return WIFEXITED(*st) ? WEXITSTATUS(*st) : 128 + WTERMSIG(*st);
  }
  bool running() {
    t_->pump(0);
    return !t_->wait(0);
  }
  Tracee& proc() { return *t_; }

  int port = 0;
  std::string first_line;

 private:
  explicit Forward(std::unique_ptr<Tracee> t) : t_(std::move(t)) {}
  std::unique_ptr<Tracee> t_;
};

// Local addresses (hex, as in /proc/net/tcp*) listening on `port`.
std::set<std::string> listen_addrs(int port) {
  std::set<std::string> out;
  for (const char* f : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(f);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string sl, local, rem, st;
      ls >> sl >> local >> rem >> st;
      auto c = local.rfind(':');
      if (st == "0A" && c != std::string::npos &&
          std::stoi(local.substr(c + 1), nullptr, 16) == port)
        out.insert(local.substr(0, c));
    }
  }
  return out;
}

class ForwardTest : public SshdSuite {};

// ---- tests ----

TEST_F(ForwardTest, ManyConcurrentConnectionsKeepEveryByte) {
  TestServer server;
  ASSERT_TRUE(server.ok());
  auto fw = Forward::start(sshd_.get(), sshd_->alias(), server.port());
  ASSERT_TRUE(fw);
  EXPECT_TRUE(contains(fw->first_line, "-> 127.0.0.1:" + std::to_string(server.port())))
      << fw->first_line;

  constexpr int kClients = 24;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kClients);
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      // Sizes from a few bytes to 3 MiB, odd on purpose.
      size_t size = i % 4 == 0 ? 7u + i : (size_t{1} << (12 + i % 10)) + 13u * i;
      std::string data = random_bytes(size, 1000u + i);
      int fd = connect_to(fw->port);
      if (fd < 0) {
        errors[i] = "connect failed";
        return;
      }
      auto got = talk(fd, "ECHO\n" + data);
      ::close(fd);
      if (!got)
        errors[i] = "no EOF within the deadline";
      else if (got->size() != data.size())
        errors[i] = "got " + std::to_string(got->size()) + " of " + std::to_string(data.size());
      else if (sha256_hex(*got) != sha256_hex(data))
        errors[i] = "checksum differs";
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(errors[i], "") << "client " << i;
  EXPECT_EQ(server.accepted(), kClients);
  EXPECT_TRUE(fw->running());
  EXPECT_EQ(fw->interrupt(), 130) << fw->proc().err();
  // The summary counts what went through.
  EXPECT_TRUE(contains(fw->proc().err(), std::to_string(kClients) + " total")) << fw->proc().err();
  // No agent was needed, so none was deployed.
  EXPECT_FALSE(std::filesystem::exists(sshd_->home() + "/.cache/sonde"));
}

TEST_F(ForwardTest, ClientShutsWriteAndStillGetsTheReply) {
  TestServer server;
  ASSERT_TRUE(server.ok());
  auto fw = Forward::start(sshd_.get(), sshd_->alias(), server.port());
  ASSERT_TRUE(fw);
  std::string data = random_bytes(300000, 7);
  int fd = connect_to(fw->port);
  ASSERT_GE(fd, 0);
  // talk() shuts our write side after the data: the server sees EOF
  // only through the channel's EOF, and answers after it.
  auto got = talk(fd, "REPLY\n" + data);
  ::close(fd);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, std::to_string(data.size()) + " " + sha256_hex(data) + "\n");
}

TEST_F(ForwardTest, ServerClosesFirstAndTheClientSeesEof) {
  TestServer server;
  ASSERT_TRUE(server.ok());
  auto fw = Forward::start(sshd_.get(), sshd_->alias(), server.port());
  ASSERT_TRUE(fw);
  int fd = connect_to(fw->port);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, "HELLO\n", 6, MSG_NOSIGNAL), 6);
  // We never shut our side: the EOF we see is the server's.
  auto got = read_to_eof(fd);
  ::close(fd);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "HELLO\n");
}

TEST_F(ForwardTest, StuckConnectionsDoNotStallAnother) {
  TestServer server;
  ASSERT_TRUE(server.ok());
  auto fw = Forward::start(sshd_.get(), sshd_->alias(), server.port());
  ASSERT_TRUE(fw);

  // Toward the target: the server never reads, we write until every buffer
  // on the way is full (a write would block for a while).
  int sink = connect_to(fw->port);
  ASSERT_GE(sink, 0);
  ASSERT_EQ(::send(sink, "SINK\n", 5, MSG_NOSIGNAL), 5);
  ::fcntl(sink, F_SETFL, O_NONBLOCK);
  std::string block(65536, 's');
  size_t pushed = 0;
  for (int i = 0; i < 4096; ++i) {  // at most 256 MiB
    ssize_t n = ::send(sink, block.data(), block.size(), MSG_NOSIGNAL);
    if (n > 0) {
      pushed += static_cast<size_t>(n);
      continue;
    }
    pollfd p{sink, POLLOUT, 0};
    if (::poll(&p, 1, 1000) == 0) break;  // nothing drains any more: stuck
  }
  EXPECT_GT(pushed, 0u);

  // Toward us: the server floods, we never read.
  int flood = connect_to(fw->port);
  ASSERT_GE(flood, 0);
  ASSERT_EQ(::send(flood, "FLOOD\n", 6, MSG_NOSIGNAL), 6);

  // Meanwhile another connection does small round trips.
  int echo = connect_to(fw->port);
  ASSERT_GE(echo, 0);
  ASSERT_EQ(::send(echo, "ECHO\n", 5, MSG_NOSIGNAL), 5);
  for (int i = 0; i < 50; ++i) {
    std::string msg = "ping " + std::to_string(i) + "\n";
    ASSERT_EQ(::send(echo, msg.data(), msg.size(), MSG_NOSIGNAL), static_cast<ssize_t>(msg.size()));
    std::string got;
    long deadline = tracee_now_ms() + kIoTimeoutMs;
    while (got.size() < msg.size() && tracee_now_ms() < deadline) {
      pollfd p{echo, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[256];
      ssize_t n = ::recv(echo, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    ASSERT_EQ(got, msg) << "round trip " << i << " stalled behind the stuck connections";
  }
  ::close(echo);
  ::close(sink);
  ::close(flood);
  EXPECT_TRUE(fw->running());
}

TEST_F(ForwardTest, DefaultBindIsLoopbackOnly) {
  TestServer server;
  ASSERT_TRUE(server.ok());
  auto fw = Forward::start(sshd_.get(), sshd_->alias(), server.port());
  ASSERT_TRUE(fw);
  EXPECT_EQ(listen_addrs(fw->port), std::set<std::string>{"0100007F"});  // 127.0.0.1 only
  EXPECT_FALSE(contains(fw->proc().err(), "warning"));
}

TEST_F(ForwardTest, BindChangesTheListenAddressAndWarns) {
  TestServer server;
  ASSERT_TRUE(server.ok());
  auto fw = Forward::start(sshd_.get(), sshd_->alias(), server.port(), {"--bind", "0.0.0.0"});
  ASSERT_TRUE(fw);
  EXPECT_EQ(listen_addrs(fw->port), std::set<std::string>{"00000000"});
  fw->proc().pump(300);
  EXPECT_TRUE(contains(fw->proc().err(), "other machines can connect")) << fw->proc().err();
  // Still a working forward.
  int fd = connect_to(fw->port);
  ASSERT_GE(fd, 0);
  auto got = talk(fd, "ECHO\nabc");
  ::close(fd);
  EXPECT_EQ(got.value_or("?"), "abc");
}

TEST_F(ForwardTest, FixedLocalPortAndBusyPortError) {
  TestServer server;
  ASSERT_TRUE(server.ok());
  int port = free_loopback_port();
  ASSERT_GT(port, 0);
  auto fw =
      Forward::start(sshd_.get(), sshd_->alias(), server.port(), {"--local", std::to_string(port)});
  ASSERT_TRUE(fw);
  EXPECT_EQ(fw->port, port);
  // A second forward on the same port: a clear error, no hang.
  auto r = run_sonde(
      {"forward", sshd_->alias(), std::to_string(server.port()), "--local", std::to_string(port)},
      {{"HOME", sshd_->home()}}, 20000);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(contains(r.err, "already in use")) << r.err;
  EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
}

TEST_F(ForwardTest, RefusedRemotePortIsReportedAndTheForwardStaysUp) {
  int port = free_loopback_port();  // nobody listens there (yet)
  ASSERT_GT(port, 0);
  auto fw = Forward::start(sshd_.get(), sshd_->alias(), port);
  ASSERT_TRUE(fw);
  int fd = connect_to(fw->port);
  ASSERT_GE(fd, 0);
  // The local client's connection is closed (reset or EOF) with no data.
  auto got = read_to_eof(fd);
  ::close(fd);
  ASSERT_TRUE(got) << "the client of a refused connection was left hanging";
  EXPECT_TRUE(*got == "" || *got == "<reset>") << *got;
  auto line = [&] {
    long deadline = tracee_now_ms() + 10000;
    while (tracee_now_ms() < deadline && !contains(fw->proc().err(), "connection failed"))
      fw->proc().pump(100);
    return fw->proc().err();
  }();
  EXPECT_TRUE(contains(line, "connection failed")) << line;
  EXPECT_TRUE(contains(line, "refused")) << line;
  ASSERT_TRUE(fw->running());

  // Once something listens there, the same forward works.
  TestServer server(port);
  ASSERT_TRUE(server.ok());
  fd = connect_to(fw->port);
  ASSERT_GE(fd, 0);
  auto ok = talk(fd, "ECHO\nback again");
  ::close(fd);
  EXPECT_EQ(ok.value_or("?"), "back again");
  EXPECT_EQ(fw->interrupt(), 130);
  EXPECT_TRUE(contains(fw->proc().err(), "1 failed")) << fw->proc().err();
}

TEST_F(ForwardTest, CtrlCEndsItWith130AndFreesThePort) {
  TestServer server;
  ASSERT_TRUE(server.ok());
  auto fw = Forward::start(sshd_.get(), sshd_->alias(), server.port());
  ASSERT_TRUE(fw);
  // An open connection does not keep it alive.
  int fd = connect_to(fw->port);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, "ECHO\n", 5, MSG_NOSIGNAL), 5);
  int port = fw->port;
  EXPECT_EQ(fw->interrupt(), 130) << fw->proc().err();
  EXPECT_TRUE(listen_addrs(port).empty());
  // ... and that connection was closed, not left open.
  auto got = read_to_eof(fd);
  ::close(fd);
  EXPECT_TRUE(got);
}

TEST_F(ForwardTest, JsonLinesForScripts) {
  TestServer server;
  ASSERT_TRUE(server.ok());
  auto fw = Forward::start(sshd_.get(), sshd_->alias(), server.port(), {}, /*json=*/true);
  ASSERT_TRUE(fw);
  json first = json::parse(fw->first_line);
  EXPECT_EQ(first["event"], "listening");
  EXPECT_EQ(first["bind"], "127.0.0.1");
  EXPECT_EQ(first["remote"], "127.0.0.1:" + std::to_string(server.port()));
  int fd = connect_to(fw->port);
  ASSERT_GE(fd, 0);
  auto got = talk(fd, "ECHO\n12345");
  ::close(fd);
  EXPECT_EQ(got.value_or("?"), "12345");
  EXPECT_EQ(fw->interrupt(), 130);
  auto out = fw->proc().out();
  auto last = out.substr(out.rfind('\n', out.size() - 2) + 1);
  json end = json::parse(last, nullptr, false);
  ASSERT_TRUE(end.is_object()) << out;
  EXPECT_EQ(end["event"], "stopped");
  EXPECT_EQ(end["accepted"], 1);
  EXPECT_EQ(end["bytes_to_remote"], 10);  // "ECHO\n12345"
  EXPECT_EQ(end["bytes_from_remote"], 5);
}

TEST_F(ForwardTest, LocalTargetConnectsDirectly) {
  TestServer server;
  ASSERT_TRUE(server.ok());
  auto fw = Forward::start(nullptr, "local", server.port());
  ASSERT_TRUE(fw);
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      std::string data = random_bytes(200000 + 4099u * i, 50u + i);
      int fd = connect_to(fw->port);
      if (fd < 0) return;
      auto got = talk(fd, "ECHO\n" + data);
      ::close(fd);
      if (got && sha256_hex(*got) == sha256_hex(data)) ++good;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 8);
  int fd = connect_to(fw->port);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(talk(fd, "REPLY\nxyz").value_or("?"), "3 " + sha256_hex("xyz") + "\n");
  ::close(fd);
  EXPECT_EQ(fw->interrupt(), 130);
}

TEST_F(ForwardTest, BadArgumentsAreClearErrors) {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  std::vector<Case> cases = {
      {{"forward", "local"}, "missing REMOTE_PORT"},
      {{"forward", "local", "http"}, "not a port number"},
      {{"forward", "local", "0"}, "not a port number"},
      {{"forward", "local", "70000"}, "not a port number"},
      {{"forward", "local", "80", "--local", "99999"}, "not a port number"},
      {{"forward", "root@127.0.0.1:1", "80", "--bind", "10.0.0.256"}, "not an IP address"},
      {{"forward", "local", "80", "--bind", "not-an-ip"}, "not an IP address"},
      {{"--via", "cat", "forward", "80"}, "cannot forward ports through --via"},
  };
  for (const auto& c : cases) {
    auto r = run_sonde(c.args, {{"HOME", sshd_->home()}}, 15000);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_TRUE(contains(r.err, c.says)) << r.err;
    EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
  }
}

TEST_F(ForwardTest, UnreachableSshHostFailsFast) {
  int port = free_loopback_port();
  ASSERT_GT(port, 0);
  auto r = run_sonde(
      {"--connect-timeout", "3s", "forward", "root@127.0.0.1:" + std::to_string(port), "80"},
      {{"HOME", sshd_->home()}}, 20000);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  EXPECT_TRUE(contains(r.err, "connection refused")) << r.err;
  EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
}

}  // namespace
}  // namespace sonde::testing
