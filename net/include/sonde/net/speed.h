// The measurement loops of `sonde speed`: one TCP connection between the
// controller (the client) and the agent (the server, on a port it listens on
// only for the test), a small header that proves the connection is ours, N
// small round trips, then one direction of bulk data for a fixed time, like
// one iperf3 stream. Pure socket code: the same functions run in the agent
// and in the controller, and in the unit tests over loopback.
//
// On the wire, after connect:
//   client → server  header (kSpeedHeaderLen bytes, see encode_speed_header)
//   server → client  "SONDEOK1" once the token matched (else the server resets)
//   rtt_count times: client → server 32 bytes, server → client the same 32
//   sender → receiver bulk bytes for duration_ms, then the sender shuts down
//   its write side; receiver → sender a trailer with the bytes it counted
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::net {

inline constexpr size_t kSpeedTokenLen = 16;
inline constexpr size_t kSpeedHeaderLen = 40;
inline constexpr size_t kSpeedPingLen = 32;
inline constexpr size_t kSpeedTrailerLen = 16;
inline constexpr size_t kSpeedBufferLen = 128 * 1024;
// Bounds a header may ask for: a stray or hostile client cannot make the
// agent send for an hour.
inline constexpr uint32_t kSpeedMaxDurationMs = 300000;
inline constexpr uint32_t kSpeedMaxRttCount = 100000;

using SpeedToken = std::array<uint8_t, kSpeedTokenLen>;

// Who sends the bulk data. Upload: the client (controller → target), like
// plain iperf3 -c; download: the server (iperf3 -R).
enum class SpeedDirection : uint8_t { kUpload = 0, kDownload = 1 };
const char* direction_name(SpeedDirection d);
std::optional<SpeedDirection> direction_from_string(const std::string& s);

struct SpeedHeader {
  SpeedToken token{};
  SpeedDirection direction = SpeedDirection::kUpload;
  uint32_t duration_ms = 0;
  uint32_t rtt_count = 0;
};

std::array<uint8_t, kSpeedHeaderLen> encode_speed_header(const SpeedHeader& h);
// Anything but a well-formed header of our version with values in bounds is
// an error (kProtocol) naming what is wrong. Does not check the token.
Result<SpeedHeader> parse_speed_header(std::span<const uint8_t> bytes);

// 16 bytes from getrandom(2).
Result<SpeedToken> random_speed_token();
std::string token_hex(const SpeedToken& t);
std::optional<SpeedToken> token_from_hex(const std::string& s);
// Compares without an early exit, so timing says nothing about the token.
bool token_equal(const SpeedToken& a, const SpeedToken& b);

// What the kernel knows about a connection (TCP_INFO), sender side.
struct TcpInfo {
  bool valid = false;
  uint32_t total_retrans = 0;  // segments retransmitted over the connection's life
  uint32_t rtt_us = 0;         // smoothed RTT
  uint32_t rttvar_us = 0;
  uint32_t snd_cwnd = 0;  // segments
  uint32_t snd_mss = 0;
  uint32_t pmtu = 0;
};
TcpInfo read_tcp_info(int fd);

struct RttStats {
  size_t count = 0;
  double min_us = 0, median_us = 0, p90_us = 0, max_us = 0, mean_us = 0;
};
// Median of an even count is the mean of the middle two; p90 is the nearest
// rank (the ceil(0.9 n)-th smallest). Empty in, count 0 out.
RttStats rtt_stats(std::vector<double> samples_us);

struct SpeedInterval {
  double start_s = 0, end_s = 0;
  uint64_t bytes = 0;
  double gbps = 0;
  int64_t retransmits = -1;  // sender only; -1: not known here
};

// One side's view of the bulk phase.
struct BulkResult {
  bool sender = false;
  uint64_t bytes = 0;  // sent or received here
  double seconds = 0;  // from the end of the round trips to the last byte
  double gbps = 0;
  std::vector<SpeedInterval> intervals;
  TcpInfo tcp_start, tcp_end;  // sender: TCP_INFO before and after
  uint64_t peer_bytes = 0;     // what the other side counted (trailer)
  bool peer_bytes_known = false;
};

// The whole exchange on one side.
struct SpeedRun {
  SpeedHeader header;
  std::vector<double> rtt_us;  // client only: each round trip
  BulkResult bulk;
};

// Where one side of a test is, for a live progress line: the round trips,
// the bulk phase, and (the sender) the wait for the receiver's count.
enum class SpeedPhase : uint8_t { kRoundTrips, kBulk, kTrailer };
const char* phase_name(SpeedPhase p);
std::optional<SpeedPhase> phase_from_string(const std::string& s);

struct SpeedProgress {
  SpeedPhase phase = SpeedPhase::kRoundTrips;
  bool sender = false;       // this side sends the bulk data
  uint32_t round_trips = 0;  // timed so far, of the header's rtt_count
  uint64_t bytes = 0;        // bulk bytes sent or received here so far
  double seconds = 0;        // into the bulk phase
  double gbps = 0;           // over the interval that just ended
};

struct SpeedOptions {
  // Polled at least every 200 ms; true ends the test with kCancelled.
  std::function<bool()> stopped;
  long interval_ms = 1000;
  // Called on this thread as each interval ends (for live output).
  std::function<void(const SpeedInterval&)> on_interval;
  // Called on this thread as each phase starts, and within one about every
  // interval_ms (the bulk phase: as each interval ends, after on_interval).
  // Never per send or recv: the bulk loop's cost stays one comparison.
  std::function<void(const SpeedProgress&)> on_progress;
  // Bounds every wait for the peer (the ack, a ping's echo, the trailer).
  long io_timeout_ms = 10000;
};

// Client side on a connected blocking socket: header, round trips, bulk,
// trailer. A server that rejects the token closes: kProtocol error.
Result<SpeedRun> speed_client(int fd, const SpeedHeader& h, const SpeedOptions& opt);

// Server side: waits on `listener` until deadline_ms (monotonic_ms) for a
// connection whose header carries `token`; anything else (garbage, a wrong
// token, silence for header_timeout_ms) is reset and counted in *rejected,
// and accepting goes on. Returns the accepted socket (blocking) and its
// header. kTimeout when nobody got in.
struct Accepted {
  int fd = -1;  // the caller owns it
  SpeedHeader header;
  std::string peer;  // "198.18.0.1:51234"
};
Result<Accepted> speed_accept(int listener, const SpeedToken& token, long deadline_ms,
                              const SpeedOptions& opt, int* rejected,
                              long header_timeout_ms = 2000);

// Server side after speed_accept: ack, echoes, bulk, trailer.
Result<SpeedRun> speed_serve(int fd, const SpeedHeader& h, const SpeedOptions& opt);

// The low-level loops, exposed for tests. speed_send writes from one
// preallocated buffer for duration_ms and shuts its write side down;
// speed_receive reads until EOF (or max_ms). Neither does the trailer.
Result<BulkResult> speed_send(int fd, long duration_ms, const SpeedOptions& opt);
Result<BulkResult> speed_receive(int fd, long max_ms, const SpeedOptions& opt);

// A listening TCP socket on host:port (port 0: any), for the agent and the
// tests. *bound gets "addr" and *port the port.
Result<int> speed_listen(const std::string& host, int port, std::string* bound, int* bound_port);

}  // namespace sonde::net
