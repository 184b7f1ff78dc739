// The loops of `sonde speed` over loopback and socketpairs, with short
// durations: the bytes the receiver counts are the bytes the sender sent, a
// wrong token or garbage is reset while the right client still gets in, the
// header parser refuses what is not ours, the RTT statistics on known samples.
// No assertion on speed.
#include "sonde/net/speed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"

namespace sonde::net {
namespace {

ScopedFd connect_loopback(int port) {
  ScopedFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fd.reset();
  return fd;
}

SpeedHeader header(SpeedDirection d, uint32_t ms, uint32_t rtts) {
  SpeedHeader h;
  auto t = random_speed_token();
  EXPECT_TRUE(t.ok());
  if (t) h.token = *t;
  h.direction = d;
  h.duration_ms = ms;
  h.rtt_count = rtts;
  return h;
}

TEST(SpeedHeader, RoundTrips) {
  SpeedHeader h = header(SpeedDirection::kDownload, 1234, 77);
  auto b = encode_speed_header(h);
  auto p = parse_speed_header(b);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->direction, SpeedDirection::kDownload);
  EXPECT_EQ(p->duration_ms, 1234u);
  EXPECT_EQ(p->rtt_count, 77u);
  EXPECT_TRUE(token_equal(p->token, h.token));
}

TEST(SpeedHeader, RejectsGarbage) {
  auto good = encode_speed_header(header(SpeedDirection::kUpload, 1000, 10));
  auto expect_bad = [](std::span<const uint8_t> b, const char* why) {
    auto p = parse_speed_header(b);
    ASSERT_FALSE(p.ok()) << why;
    EXPECT_EQ(p.error().code, errc::kProtocol) << why;
  };
  expect_bad(std::span<const uint8_t>(good.data(), 39), "short");
  std::vector<uint8_t> longer(good.begin(), good.end());
  longer.push_back(0);
  expect_bad(longer, "long");
  auto m = good;
  m[0] = 'X';
  expect_bad(m, "magic");
  m = good;
  m[8] = 2;
  expect_bad(m, "version");
  m = good;
  m[9] = 2;
  expect_bad(m, "direction");
  m = good;
  m[10] = 1;
  expect_bad(m, "reserved");
  m = good;
  std::memset(m.data() + 12, 0, 4);
  expect_bad(m, "zero duration");
  m = good;
  std::memset(m.data() + 12, 0xff, 4);
  expect_bad(m, "huge duration");
  m = good;
  std::memset(m.data() + 16, 0xff, 4);
  expect_bad(m, "huge rtt count");
  // Random bytes never parse (the magic alone makes that near certain) and
  // never crash.
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::array<uint8_t, kSpeedHeaderLen> r;
    for (auto& c : r) c = static_cast<uint8_t>(rng());
    EXPECT_FALSE(parse_speed_header(r).ok());
  }
  expect_bad({}, "empty");
}

TEST(SpeedToken, HexRoundTripAndCompare) {
  auto a = random_speed_token(), b = random_speed_token();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(token_equal(*a, *b));  // 2^-128
  std::string hex = token_hex(*a);
  EXPECT_EQ(hex.size(), 32u);
  auto back = token_from_hex(hex);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(token_equal(*back, *a));
  EXPECT_FALSE(token_from_hex("").has_value());
  EXPECT_FALSE(token_from_hex(hex.substr(1)).has_value());
  EXPECT_FALSE(token_from_hex(std::string(32, 'g')).has_value());
}

TEST(RttStats, KnownSamples) {
  auto s = rtt_stats({50, 10, 40, 20, 30, 60, 70, 80, 90, 100});
  EXPECT_EQ(s.count, 10u);
  EXPECT_DOUBLE_EQ(s.min_us, 10);
  EXPECT_DOUBLE_EQ(s.max_us, 100);
  EXPECT_DOUBLE_EQ(s.median_us, 55);  // mean of 50 and 60
  EXPECT_DOUBLE_EQ(s.p90_us, 90);     // the 9th of 10
  EXPECT_DOUBLE_EQ(s.mean_us, 55);
  auto odd = rtt_stats({3, 1, 2});
  EXPECT_DOUBLE_EQ(odd.median_us, 2);
  EXPECT_DOUBLE_EQ(odd.p90_us, 3);  // ceil(2.7) = 3rd
  auto one = rtt_stats({7});
  EXPECT_DOUBLE_EQ(one.median_us, 7);
  EXPECT_DOUBLE_EQ(one.p90_us, 7);
  EXPECT_EQ(rtt_stats({}).count, 0u);
}

TEST(SpeedLoops, ReceiverCountsWhatSenderSent) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ScopedFd a(sv[0]), b(sv[1]);
  SpeedOptions opt;
  opt.interval_ms = 100;
  Result<BulkResult> recv = Error{errc::kInternal, "not run", {}};
  std::thread t([&] { recv = speed_receive(b.get(), 10000, opt); });
  auto sent = speed_send(a.get(), 300, opt);
  t.join();
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  ASSERT_TRUE(recv.ok()) << recv.error().message;
  EXPECT_GT(sent->bytes, 0u);
  EXPECT_EQ(recv->bytes, sent->bytes);
  EXPECT_TRUE(sent->sender);
  EXPECT_FALSE(recv->sender);
  uint64_t sum = 0;
  for (const auto& iv : recv->intervals) sum += iv.bytes;
  EXPECT_EQ(sum, recv->bytes) << "the intervals cover every byte";
  EXPECT_GE(recv->intervals.size(), 2u);
}

TEST(SpeedLoops, StopEndsTheSenderAndTheReceiver) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ScopedFd a(sv[0]), b(sv[1]);
  std::atomic<bool> stop{false};
  SpeedOptions opt;
  opt.stopped = [&] { return stop.load(); };
  // Nobody reads b: the sender blocks in send and must still see the stop.
  std::thread t([&] {
    ::usleep(300000);
    stop = true;
  });
  long t0 = monotonic_ms();
  auto sent = speed_send(a.get(), 60000, opt);
  auto recv = speed_receive(b.get(), 60000, opt);
  t.join();
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, errc::kCancelled);
  ASSERT_FALSE(recv.ok());
  EXPECT_EQ(recv.error().code, errc::kCancelled);
  EXPECT_LT(monotonic_ms() - t0, 20000);
}

struct Server {
  ScopedFd listener;
  int port = 0;
  SpeedToken token{};
  int rejected = 0;
  Result<Accepted> accepted = Error{errc::kInternal, "not run", {}};
  Result<SpeedRun> run = Error{errc::kInternal, "not run", {}};
  std::thread th;

  explicit Server(long accept_ms = 10000) {
    std::string bound;
    auto l = speed_listen("127.0.0.1", 0, &bound, &port);
    EXPECT_TRUE(l.ok());
    if (l) listener.reset(*l);
    EXPECT_EQ(bound, "127.0.0.1");
    token = *random_speed_token();
    th = std::thread([this, accept_ms] {
      SpeedOptions opt;
      accepted =
          speed_accept(listener.get(), token, monotonic_ms() + accept_ms, opt, &rejected, 500);
      if (!accepted) return;
      ScopedFd fd(accepted->fd);
      run = speed_serve(fd.get(), accepted->header, opt);
    });
  }
  ~Server() {
    if (th.joinable()) th.join();
  }
};

void check_run(SpeedDirection dir) {
  Server srv;
  SpeedHeader h = header(dir, 300, 20);
  h.token = srv.token;
  ScopedFd c = connect_loopback(srv.port);
  ASSERT_TRUE(c.valid());
  auto run = speed_client(c.get(), h, SpeedOptions{});
  srv.th.join();
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_TRUE(srv.accepted.ok()) << srv.accepted.error().message;
  ASSERT_TRUE(srv.run.ok()) << srv.run.error().message;
  EXPECT_EQ(run->rtt_us.size(), 20u);
  for (double r : run->rtt_us) EXPECT_GT(r, 0);
  const BulkResult& sender = dir == SpeedDirection::kUpload ? run->bulk : srv.run->bulk;
  const BulkResult& receiver = dir == SpeedDirection::kUpload ? srv.run->bulk : run->bulk;
  EXPECT_TRUE(sender.sender);
  EXPECT_FALSE(receiver.sender);
  EXPECT_GT(sender.bytes, 0u);
  EXPECT_EQ(receiver.bytes, sender.bytes);
  ASSERT_TRUE(sender.peer_bytes_known) << "the receiver's trailer reached the sender";
  EXPECT_EQ(sender.peer_bytes, sender.bytes);
  EXPECT_TRUE(sender.tcp_end.valid) << "TCP_INFO on a TCP sender";
  EXPECT_GT(sender.tcp_end.snd_mss, 0u);
  EXPECT_EQ(srv.rejected, 0);
  EXPECT_EQ(srv.accepted->peer.rfind("127.0.0.1:", 0), 0u) << srv.accepted->peer;
}

// What a live progress line is fed: each phase as it starts (the round trips
// from 0, the bulk phase from 0 bytes), the count so far as intervals end,
// and on the sender the wait for the receiver's count with every byte sent.
TEST(SpeedSession, ProgressFollowsThePhasesAndTheCountSoFar) {
  for (SpeedDirection dir : {SpeedDirection::kUpload, SpeedDirection::kDownload}) {
    Server srv;
    SpeedHeader h = header(dir, 400, 5);
    h.token = srv.token;
    ScopedFd c = connect_loopback(srv.port);
    ASSERT_TRUE(c.valid());
    std::vector<SpeedProgress> seen;
    SpeedOptions opt;
    opt.interval_ms = 100;
    opt.on_progress = [&](const SpeedProgress& p) { seen.push_back(p); };
    auto run = speed_client(c.get(), h, opt);
    srv.th.join();
    ASSERT_TRUE(run.ok()) << run.error().message;
    const bool sender = dir == SpeedDirection::kUpload;
    ASSERT_GE(seen.size(), 3u);
    EXPECT_EQ(seen[0].phase, SpeedPhase::kRoundTrips);
    EXPECT_EQ(seen[0].round_trips, 0u);
    EXPECT_EQ(seen[0].sender, sender);
    size_t bulk = 0;
    while (bulk < seen.size() && seen[bulk].phase == SpeedPhase::kRoundTrips) ++bulk;
    ASSERT_LT(bulk, seen.size());
    EXPECT_EQ(seen[bulk].phase, SpeedPhase::kBulk);
    EXPECT_EQ(seen[bulk].bytes, 0u) << "the bulk phase is announced as it starts";
    uint64_t last = 0;
    size_t counted = 0;
    for (size_t i = bulk; i < seen.size() && seen[i].phase == SpeedPhase::kBulk; ++i) {
      EXPECT_GE(seen[i].bytes, last) << "the count so far never goes back";
      EXPECT_EQ(seen[i].sender, sender);
      last = seen[i].bytes;
      counted = i;
    }
    EXPECT_GT(counted, bulk) << "at least the last interval was reported";
    EXPECT_GT(last, 0u);
    EXPECT_LE(last, run->bulk.bytes);
    if (sender) {
      EXPECT_EQ(seen.back().phase, SpeedPhase::kTrailer);
      EXPECT_EQ(seen.back().bytes, run->bulk.bytes);
      EXPECT_EQ(seen.back().seconds, run->bulk.seconds);
    } else {
      EXPECT_EQ(seen.back().phase, SpeedPhase::kBulk);
    }
  }
}

TEST(SpeedSession, UploadOverLoopback) {
  check_run(SpeedDirection::kUpload);
}

TEST(SpeedSession, DownloadOverLoopback) {
  check_run(SpeedDirection::kDownload);
}

TEST(SpeedSession, WrongTokenAndGarbageAreResetTheRightOneGetsIn) {
  Server srv;
  // A wrong token: reset, and our client learns it from the missing ack.
  SpeedHeader wrong = header(SpeedDirection::kUpload, 200, 0);
  {
    ScopedFd c = connect_loopback(srv.port);
    ASSERT_TRUE(c.valid());
    SpeedOptions opt;
    opt.io_timeout_ms = 5000;
    auto r = speed_client(c.get(), wrong, opt);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, errc::kProtocol) << r.error().message;
    EXPECT_NE(r.error().message.find("instead of accepting"), std::string::npos)
        << r.error().message;
  }
  // Garbage of the header's length, and a client that says nothing (the
  // server gives it 500 ms here).
  {
    ScopedFd c = connect_loopback(srv.port);
    ASSERT_TRUE(c.valid());
    std::string junk(kSpeedHeaderLen, 'x');
    ASSERT_TRUE(write_all(c.get(), junk).ok());
    char b;
    EXPECT_LE(::recv(c.get(), &b, 1, 0), 0) << "garbage gets no answer";
  }
  {
    ScopedFd silent = connect_loopback(srv.port);
    ASSERT_TRUE(silent.valid());
    char b;
    EXPECT_LE(::recv(silent.get(), &b, 1, 0), 0) << "silence is cut off";
  }
  SpeedHeader h = header(SpeedDirection::kUpload, 200, 3);
  h.token = srv.token;
  ScopedFd c = connect_loopback(srv.port);
  auto run = speed_client(c.get(), h, SpeedOptions{});
  srv.th.join();
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_TRUE(srv.run.ok()) << srv.run.error().message;
  EXPECT_EQ(srv.rejected, 3);
  EXPECT_EQ(srv.run->bulk.bytes, run->bulk.bytes);
}

TEST(SpeedSession, AcceptTimesOutWhenNobodyComes) {
  Server srv(300);
  srv.th.join();
  ASSERT_FALSE(srv.accepted.ok());
  EXPECT_EQ(srv.accepted.error().code, errc::kTimeout);
}

TEST(SpeedListen, RejectsANonAddress) {
  auto l = speed_listen("not-an-ip", 0, nullptr, nullptr);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, errc::kBadArgs);
}

}  // namespace
}  // namespace sonde::net
