// The loops of `sonde speed` (speed.h has the wire format). Bulk data moves
// with plain blocking send/recv of 128 KiB from one buffer, like iperf3, with
// SO_SNDTIMEO/SO_RCVTIMEO at 200 ms so the clock and the stop flag are looked
// at even when the peer stalls; every other exchange is poll + non-blocking
// IO under a deadline.
#include "sonde/net/speed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>

#include "sonde/common/io.h"

namespace sonde::net {
namespace {

constexpr char kMagic[8] = {'S', 'O', 'N', 'D', 'E', 'S', 'P', 'D'};
constexpr uint8_t kVersion = 1;
constexpr char kSpeedAck[8] = {'S', 'O', 'N', 'D', 'E', 'O', 'K', '1'};
constexpr char kTrailerMagic[4] = {'S', 'P', 'D', 'T'};
constexpr long kSliceMs = 200;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void put_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24), p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8), p[3] = static_cast<uint8_t>(v);
}
uint32_t get_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

bool stopped(const SpeedOptions& o) {
  return o.stopped && o.stopped();
}

Error cancelled() {
  return Error{errc::kCancelled, "speed test cancelled", {}};
}

void set_io_slices(int fd) {
  timeval tv{0, kSliceMs * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A reset instead of a FIN: a rejected client learns at once that nobody
// here talks to it, and no TIME_WAIT is left behind.
void reset_close(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// Waits for `events` on fd in slices, so a stop is seen within kSliceMs.
Status wait_for(int fd, short events, long deadline, const SpeedOptions& opt, const char* what) {
  for (;;) {
    if (stopped(opt)) return cancelled();
    long left = deadline - monotonic_ms();
    if (left <= 0)
      return Error{errc::kTimeout, fmt::format("the peer did not answer in time ({})", what), {}};
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min(left, kSliceMs)));
    if (n < 0 && errno != EINTR) return errno_error("poll");
    if (n > 0) return ok_status();
  }
}

Status read_exact(int fd, void* buf, size_t len, long deadline, const SpeedOptions& opt,
                  const char* what) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    if (auto st = wait_for(fd, POLLIN, deadline, opt, what); !st.ok()) return st;
    ssize_t n = ::recv(fd, p, len, MSG_DONTWAIT);
    if (n == 0)
      return Error{errc::kProtocol, fmt::format("the peer closed the connection ({})", what), {}};
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return errno_error(std::string("recv (") + what + ")");
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return ok_status();
}

Status write_exact(int fd, const void* buf, size_t len, long deadline, const SpeedOptions& opt,
                   const char* what) {
  auto* p = static_cast<const char*>(buf);
  while (len > 0) {
    if (auto st = wait_for(fd, POLLOUT, deadline, opt, what); !st.ok()) return st;
    ssize_t n = ::send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return errno_error(std::string("send (") + what + ")");
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return ok_status();
}

void report(const SpeedOptions& opt, SpeedPhase phase, bool sender, uint64_t bytes = 0,
            double seconds = 0) {
  if (!opt.on_progress) return;
  SpeedProgress p;
  p.phase = phase;
  p.sender = sender;
  p.bytes = bytes;
  p.seconds = seconds;
  opt.on_progress(p);
}

// The round trips' progress: at the first, then about every interval_ms
// (a slow link's hundred round trips take many seconds). Called between
// round trips, never inside the timed part.
void report_round_trips(const SpeedOptions& opt, bool sender, uint32_t done, long* next_ms) {
  if (!opt.on_progress) return;
  long now = monotonic_ms();
  if (done != 0 && now < *next_ms) return;
  *next_ms = now + opt.interval_ms;
  SpeedProgress p;
  p.phase = SpeedPhase::kRoundTrips;
  p.sender = sender;
  p.round_trips = done;
  opt.on_progress(p);
}

// Interval bookkeeping shared by the sender and the receiver.
class Intervals {
 public:
  Intervals(int fd, bool sender, const SpeedOptions& opt, double start)
      : fd_(fd), sender_(sender), opt_(opt), start_(start), mark_(start) {
    step_ = std::max(0.05, opt.interval_ms / 1000.0);
    next_ = start + step_;
    if (sender_) retrans_ = read_tcp_info(fd).total_retrans;
  }
  // Cheap enough for every send/recv: one comparison until a boundary.
  void add(uint64_t n, double t) {
    bytes_ += n;
    if (t >= next_) close(t);
  }
  void finish(double t) {
    if (bytes_ == 0) return;
    // A trailing sliver on its own would show a meaningless rate: it joins
    // the interval before it, so the intervals still add up to the total.
    if (t - mark_ < 0.01 && !list_.empty()) {
      SpeedInterval& last = list_.back();
      last.bytes += bytes_;
      last.end_s = t - start_;
      double d = last.end_s - last.start_s;
      last.gbps = d > 0 ? static_cast<double>(last.bytes) * 8 / d / 1e9 : 0;
      bytes_ = 0;
      return;
    }
    close(t);
  }
  std::vector<SpeedInterval> take() { return std::move(list_); }

 private:
  void close(double t) {
    SpeedInterval iv;
    iv.start_s = mark_ - start_;
    iv.end_s = t - start_;
    iv.bytes = bytes_;
    double d = t - mark_;
    iv.gbps = d > 0 ? static_cast<double>(bytes_) * 8 / d / 1e9 : 0;
    if (sender_) {
      TcpInfo ti = read_tcp_info(fd_);
      if (ti.valid) {
        iv.retransmits = static_cast<int64_t>(ti.total_retrans) - retrans_;
        retrans_ = ti.total_retrans;
      }
    }
    list_.push_back(iv);
    if (opt_.on_interval) opt_.on_interval(iv);
    closed_bytes_ += bytes_;
    if (opt_.on_progress) {
      SpeedProgress p;
      p.phase = SpeedPhase::kBulk;
      p.sender = sender_;
      p.bytes = closed_bytes_;
      p.seconds = iv.end_s;
      p.gbps = iv.gbps;
      opt_.on_progress(p);
    }
    bytes_ = 0;
    mark_ = t;
    while (next_ <= t) next_ += step_;
  }

  int fd_;
  bool sender_;
  const SpeedOptions& opt_;
  double start_, mark_, next_, step_;
  uint64_t bytes_ = 0;         // in the open interval
  uint64_t closed_bytes_ = 0;  // in the intervals before it
  int64_t retrans_ = 0;
  std::vector<SpeedInterval> list_;
};

std::string sockaddr_text(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    return fmt::format("[{}]:{}", buf, ntohs(a->sin6_port));
  }
  auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
  ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
  return fmt::format("{}:{}", buf, ntohs(a->sin_port));
}

Status send_trailer(int fd, uint64_t bytes, const SpeedOptions& opt) {
  uint8_t t[kSpeedTrailerLen] = {};
  std::memcpy(t, kTrailerMagic, 4);
  put_be32(t + 8, static_cast<uint32_t>(bytes >> 32));
  put_be32(t + 12, static_cast<uint32_t>(bytes));
  return write_exact(fd, t, sizeof t, monotonic_ms() + opt.io_timeout_ms, opt, "trailer");
}

Result<uint64_t> read_trailer(int fd, const SpeedOptions& opt) {
  uint8_t t[kSpeedTrailerLen];
  if (auto st = read_exact(fd, t, sizeof t, monotonic_ms() + opt.io_timeout_ms, opt,
                           "the receiver's byte count");
      !st.ok())
    return st.error();
  if (std::memcmp(t, kTrailerMagic, 4) != 0)
    return Error{errc::kProtocol, "the receiver's byte count is garbled", {}};
  return (uint64_t{get_be32(t + 8)} << 32) | get_be32(t + 12);
}

// The bulk phase and its trailer, either side.
Status bulk(int fd, bool we_send, const SpeedHeader& h, const SpeedOptions& opt, BulkResult* out) {
  // Round trips want every small write on the wire at once; bulk data is
  // what iperf3 sends, with Nagle on (its default), so the figures compare.
  int zero = 0;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof zero);
  report(opt, SpeedPhase::kBulk, we_send);
  if (we_send) {
    auto r = speed_send(fd, h.duration_ms, opt);
    if (!r) return r.error();
    *out = std::move(*r);
    report(opt, SpeedPhase::kTrailer, true, out->bytes, out->seconds);
    auto peer = read_trailer(fd, opt);
    if (!peer) return peer.error();
    out->peer_bytes = *peer;
    out->peer_bytes_known = true;
    return ok_status();
  }
  auto r = speed_receive(fd, static_cast<long>(h.duration_ms) + opt.io_timeout_ms, opt);
  if (!r) return r.error();
  *out = std::move(*r);
  return send_trailer(fd, out->bytes, opt);
}

}  // namespace

const char* phase_name(SpeedPhase p) {
  switch (p) {
    case SpeedPhase::kRoundTrips:
      return "round_trips";
    case SpeedPhase::kBulk:
      return "bulk";
    case SpeedPhase::kTrailer:
      return "trailer";
  }
  return "bulk";
}

std::optional<SpeedPhase> phase_from_string(const std::string& s) {
  for (auto p : {SpeedPhase::kRoundTrips, SpeedPhase::kBulk, SpeedPhase::kTrailer})
    if (s == phase_name(p)) return p;
  return std::nullopt;
}

const char* direction_name(SpeedDirection d) {
  return d == SpeedDirection::kDownload ? "download" : "upload";
}

std::optional<SpeedDirection> direction_from_string(const std::string& s) {
  if (s == "upload") return SpeedDirection::kUpload;
  if (s == "download") return SpeedDirection::kDownload;
  return std::nullopt;
}

std::array<uint8_t, kSpeedHeaderLen> encode_speed_header(const SpeedHeader& h) {
  std::array<uint8_t, kSpeedHeaderLen> b{};
  std::memcpy(b.data(), kMagic, sizeof kMagic);
  b[8] = kVersion;
  b[9] = static_cast<uint8_t>(h.direction);
  put_be32(b.data() + 12, h.duration_ms);
  put_be32(b.data() + 16, h.rtt_count);
  std::memcpy(b.data() + 24, h.token.data(), kSpeedTokenLen);
  return b;
}

Result<SpeedHeader> parse_speed_header(std::span<const uint8_t> b) {
  auto bad = [](std::string why) {
    return Error{errc::kProtocol, "not a sonde speed header: " + why, {}};
  };
  if (b.size() != kSpeedHeaderLen)
    return bad(fmt::format("{} bytes, expected {}", b.size(), kSpeedHeaderLen));
  if (std::memcmp(b.data(), kMagic, sizeof kMagic) != 0) return bad("wrong magic");
  if (b[8] != kVersion) return bad(fmt::format("version {}, this side speaks {}", b[8], kVersion));
  if (b[9] > 1) return bad(fmt::format("direction {}", b[9]));
  if (b[10] || b[11] || get_be32(b.data() + 20)) return bad("reserved bytes set");
  SpeedHeader h;
  h.direction = static_cast<SpeedDirection>(b[9]);
  h.duration_ms = get_be32(b.data() + 12);
  h.rtt_count = get_be32(b.data() + 16);
  if (h.duration_ms == 0 || h.duration_ms > kSpeedMaxDurationMs)
    return bad(fmt::format("duration {} ms out of 1..{}", h.duration_ms, kSpeedMaxDurationMs));
  if (h.rtt_count > kSpeedMaxRttCount)
    return bad(fmt::format("{} round trips, at most {}", h.rtt_count, kSpeedMaxRttCount));
  std::memcpy(h.token.data(), b.data() + 24, kSpeedTokenLen);
  return h;
}

Result<SpeedToken> random_speed_token() {
  SpeedToken t{};
  size_t got = 0;
  while (got < t.size()) {
    ssize_t n = ::getrandom(t.data() + got, t.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("getrandom");
    }
    got += static_cast<size_t>(n);
  }
  return t;
}

std::string token_hex(const SpeedToken& t) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t c : t) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

std::optional<SpeedToken> token_from_hex(const std::string& s) {
  if (s.size() != 2 * kSpeedTokenLen) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  SpeedToken t{};
  for (size_t i = 0; i < t.size(); ++i) {
    int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    t[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return t;
}

bool token_equal(const SpeedToken& a, const SpeedToken& b) {
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

TcpInfo read_tcp_info(int fd) {
  TcpInfo t;
  tcp_info ti{};
  socklen_t len = sizeof ti;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return t;
  t.valid = true;
  t.total_retrans = ti.tcpi_total_retrans;
  t.rtt_us = ti.tcpi_rtt;
  t.rttvar_us = ti.tcpi_rttvar;
  t.snd_cwnd = ti.tcpi_snd_cwnd;
  t.snd_mss = ti.tcpi_snd_mss;
  t.pmtu = ti.tcpi_pmtu;
  return t;
}

RttStats rtt_stats(std::vector<double> s) {
  RttStats r;
  if (s.empty()) return r;
  std::sort(s.begin(), s.end());
  size_t n = s.size();
  r.count = n;
  r.min_us = s.front();
  r.max_us = s.back();
  r.median_us = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  size_t rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n)));
  r.p90_us = s[std::clamp<size_t>(rank, 1, n) - 1];
  double sum = 0;
  for (double v : s) sum += v;
  r.mean_us = sum / static_cast<double>(n);
  return r;
}

Result<BulkResult> speed_send(int fd, long duration_ms, const SpeedOptions& opt) {
  // One buffer for the whole test; its content does not matter, but pages
  // the kernel has not seen cost a fault on first copy, so touch them now.
  std::unique_ptr<char[]> buf(new char[kSpeedBufferLen]);
  std::memset(buf.get(), 0x5a, kSpeedBufferLen);
  set_io_slices(fd);
  BulkResult r;
  r.sender = true;
  r.tcp_start = read_tcp_info(fd);
  const double start = now_s(), end = start + duration_ms / 1000.0;
  Intervals iv(fd, true, opt, start);
  double t = start;
  while (t < end) {
    if (stopped(opt)) return cancelled();
    ssize_t n = ::send(fd, buf.get(), kSpeedBufferLen, MSG_NOSIGNAL);
    t = now_s();
    if (n > 0) {
      r.bytes += static_cast<uint64_t>(n);
      iv.add(static_cast<uint64_t>(n), t);
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return errno_error("send (bulk data)");
    }
  }
  iv.finish(t);
  r.seconds = t - start;
  r.gbps = r.seconds > 0 ? static_cast<double>(r.bytes) * 8 / r.seconds / 1e9 : 0;
  r.intervals = iv.take();
  r.tcp_end = read_tcp_info(fd);
  ::shutdown(fd, SHUT_WR);
  return r;
}

Result<BulkResult> speed_receive(int fd, long max_ms, const SpeedOptions& opt) {
  std::unique_ptr<char[]> buf(new char[kSpeedBufferLen]);
  set_io_slices(fd);
  BulkResult r;
  const double start = now_s(), limit = start + max_ms / 1000.0;
  Intervals iv(fd, false, opt, start);
  double t = start;
  for (;;) {
    if (stopped(opt)) return cancelled();
    if (t > limit)
      return Error{
          errc::kTimeout, fmt::format("the sender did not finish within {} ms", max_ms), {}};
    ssize_t n = ::recv(fd, buf.get(), kSpeedBufferLen, 0);
    t = now_s();
    if (n > 0) {
      r.bytes += static_cast<uint64_t>(n);
      iv.add(static_cast<uint64_t>(n), t);
    } else if (n == 0) {
      break;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return errno_error("recv (bulk data)");
    }
  }
  iv.finish(t);
  r.seconds = t - start;
  r.gbps = r.seconds > 0 ? static_cast<double>(r.bytes) * 8 / r.seconds / 1e9 : 0;
  r.intervals = iv.take();
  return r;
}

Result<SpeedRun> speed_client(int fd, const SpeedHeader& h, const SpeedOptions& opt) {
  set_nodelay(fd);
  SpeedRun run;
  run.header = h;
  auto hb = encode_speed_header(h);
  if (auto st =
          write_exact(fd, hb.data(), hb.size(), monotonic_ms() + opt.io_timeout_ms, opt, "header");
      !st.ok())
    return st.error();
  char ack[sizeof kSpeedAck];
  if (auto st = read_exact(fd, ack, sizeof ack, monotonic_ms() + opt.io_timeout_ms, opt,
                           "the listener's acceptance");
      !st.ok()) {
    Error e = st.error();
    if (e.code == errc::kProtocol || e.sys_errno == ECONNRESET)
      e = Error{errc::kProtocol, "the listener closed the connection instead of accepting the test",
                "it did not take our token: something else answers on that address (a proxy, "
                "a NAT to another host), or the agent's listener had already timed out"};
    return e;
  }
  if (std::memcmp(ack, kSpeedAck, sizeof kSpeedAck) != 0)
    return Error{errc::kProtocol, "the listener answered something that is not sonde", {}};

  uint8_t ping[kSpeedPingLen] = {}, pong[kSpeedPingLen];
  run.rtt_us.reserve(h.rtt_count);
  long next_report = 0;
  for (uint32_t i = 0; i < h.rtt_count; ++i) {
    report_round_trips(opt, h.direction == SpeedDirection::kUpload, i, &next_report);
    put_be32(ping, i);
    long deadline = monotonic_ms() + opt.io_timeout_ms;
    auto t0 = std::chrono::steady_clock::now();
    if (auto st = write_exact(fd, ping, sizeof ping, deadline, opt, "round trip"); !st.ok())
      return st.error();
    if (auto st = read_exact(fd, pong, sizeof pong, deadline, opt, "round trip"); !st.ok())
      return st.error();
    auto t1 = std::chrono::steady_clock::now();
    if (get_be32(pong) != i)
      return Error{errc::kProtocol, "a round trip came back with the wrong sequence number", {}};
    run.rtt_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  if (auto st = bulk(fd, h.direction == SpeedDirection::kUpload, h, opt, &run.bulk); !st.ok())
    return st.error();
  return run;
}

Result<Accepted> speed_accept(int listener, const SpeedToken& token, long deadline_ms,
                              const SpeedOptions& opt, int* rejected, long header_timeout_ms) {
  for (;;) {
    if (stopped(opt)) return cancelled();
    long left = deadline_ms - monotonic_ms();
    if (left <= 0)
      return Error{errc::kTimeout, "nobody connected to the speed test's listener in time",
                   "the controller could not reach this port"};
    pollfd p{listener, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min(left, kSliceMs)));
    if (n < 0 && errno != EINTR) return errno_error("poll (listener)");
    if (n <= 0) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) continue;
      return errno_error("accept");
    }
    uint8_t hb[kSpeedHeaderLen];
    // The header must come quickly, and a stranger's silence may hold the
    // next connection up only that long.
    SpeedOptions hopt;
    hopt.stopped = opt.stopped;
    Status st = read_exact(fd, hb, sizeof hb, monotonic_ms() + header_timeout_ms, hopt, "header");
    if (!st.ok() && st.error().code == errc::kCancelled) {
      ::close(fd);
      return st.error();
    }
    Result<SpeedHeader> h = st.ok() ? parse_speed_header(hb) : Result<SpeedHeader>(st.error());
    if (!h || !token_equal(h->token, token)) {
      if (rejected) ++*rejected;
      reset_close(fd);
      continue;
    }
    Accepted a;
    a.fd = fd;
    a.header = *h;
    a.peer = sockaddr_text(ss);
    return a;
  }
}

Result<SpeedRun> speed_serve(int fd, const SpeedHeader& h, const SpeedOptions& opt) {
  set_nodelay(fd);
  SpeedRun run;
  run.header = h;
  if (auto st = write_exact(fd, kSpeedAck, sizeof kSpeedAck, monotonic_ms() + opt.io_timeout_ms,
                            opt, "acceptance");
      !st.ok())
    return st.error();
  uint8_t ping[kSpeedPingLen];
  long next_report = 0;
  for (uint32_t i = 0; i < h.rtt_count; ++i) {
    report_round_trips(opt, h.direction == SpeedDirection::kDownload, i, &next_report);
    long deadline = monotonic_ms() + opt.io_timeout_ms;
    if (auto st = read_exact(fd, ping, sizeof ping, deadline, opt, "round trip"); !st.ok())
      return st.error();
    if (auto st = write_exact(fd, ping, sizeof ping, deadline, opt, "round trip"); !st.ok())
      return st.error();
  }
  if (auto st = bulk(fd, h.direction == SpeedDirection::kDownload, h, opt, &run.bulk); !st.ok())
    return st.error();
  return run;
}

Result<int> speed_listen(const std::string& host, int port, std::string* bound, int* bound_port) {
  std::string hs = host;
  if (hs.size() > 2 && hs.front() == '[' && hs.back() == ']') hs = hs.substr(1, hs.size() - 2);
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, hs.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, hs.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else {
    return Error{errc::kBadArgs, fmt::format("listen address `{}` is not an IP address", host), {}};
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error("socket");
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 16) != 0) {
    int e = errno;
    ::close(fd);
    return Error::sys(code_for_errno(e), e,
                      fmt::format("cannot listen on {}: {}", host, std::strerror(e)));
  }
  sockaddr_storage got{};
  socklen_t glen = sizeof got;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&got), &glen);
  std::string text = sockaddr_text(got);
  if (bound_port) *bound_port = std::stoi(text.substr(text.rfind(':') + 1));
  if (bound) {
    std::string a = text.substr(0, text.rfind(':'));
    if (a.size() > 2 && a.front() == '[') a = a.substr(1, a.size() - 2);
    *bound = a;
  }
  return fd;
}

}  // namespace sonde::net
