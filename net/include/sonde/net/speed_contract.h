// The `net.speed` op's contract: SpeedArgs (which way the bytes go, for how
// long, how many round trips to time, where the agent's listener binds), the
// "listening" event (SpeedListening: where to connect, with which token) and
// SpeedResult (the agent's own view of the test, from net/speed.h's loops),
// one JSON form each, used by `sonde speed` and the handler. validate() is
// the one judge of a request.
#pragma once

#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/speed.h"

namespace sonde::net {

inline constexpr long kSpeedMinDurationMs = 100;
inline constexpr long kSpeedMinAcceptTimeoutMs = 100;
inline constexpr long kSpeedMaxAcceptTimeoutMs = 120000;

struct SpeedArgs {
  SpeedDirection direction = SpeedDirection::kUpload;
  long duration_ms = 10000;
  long rtt_count = 100;
  long accept_timeout_ms = 20000;
  std::string bind;        // "" = the address SSH came in on
  std::string connect_to;  // the address the other end will connect to, when known
};

json to_json(const SpeedArgs& a);
// Wrong types (and an unknown direction) are errc::kBadArgs naming the field.
Result<SpeedArgs> speed_args_from_json(const json& j);
// Duration, round trips, accept timeout, a wildcard bind: errc::kBadArgs.
Status validate(const SpeedArgs& a);

// Bounds of what a test reports: one interval a second (or faster with
// SpeedOptions::interval_ms) over at most kSpeedMaxDurationMs.
inline constexpr size_t kMaxSpeedIntervals = 4096;
inline constexpr size_t kMaxSpeedNotes = 64;

json to_json(const TcpInfo& t);  // null when not valid
json to_json(const RttStats& s);
// {role "sender"|"receiver", bytes, seconds, gbps, intervals [{start_s,
// end_s, bytes, gbps, retransmits (sender only)}], and for a sender with
// TCP_INFO: tcp_info (at the end) and retransmits (over the test);
// peer_bytes when the trailer came}.
json to_json(const BulkResult& b);

// The agent's listener is up: connect to address:port and present token.
struct SpeedListening {
  std::string address;  // what it bound
  int port = 0;
  std::string bind_source;  // "arg", "ssh_connection", "connect_to", "loopback"
  SpeedToken token{};
};
// {event: "listening", address, port, bind_source, token (hex)}
json to_json(const SpeedListening& e);
// Strict: errc::kProtocol naming the field (a token that is not 32 hex
// digits too), with the agent mismatch hint.
Result<SpeedListening> speed_listening_from_json(const json& j);

// Where the agent's end of a test is, sent as the test runs: as each phase
// starts and about once a second within one.
// {event: "progress", phase: "round_trips"|"bulk"|"trailer", role:
// "sender"|"receiver", round_trips, bytes, seconds, gbps}
json to_json(const SpeedProgress& p);
// Strict: errc::kProtocol naming the field, with the agent mismatch hint.
Result<SpeedProgress> speed_progress_from_json(const json& j);

// A net.speed event's "event": "listening", "progress"; "" when it has none.
// A reader skips kinds it does not know (a newer agent's).
std::string speed_event_kind(const json& j);

// The agent's end of one test.
struct SpeedResult {
  std::string agent_host;  // "host"
  std::string address;     // where it listened
  int port = 0;
  std::string peer;  // who presented the token, "198.18.0.1:51234"
  int rejected = 0;  // connections reset for a wrong or missing token
  SpeedDirection direction = SpeedDirection::kUpload;
  uint32_t duration_ms = 0;
  BulkResult bulk;  // the agent's side of the bulk phase
  std::vector<std::string> notes;
};
// {host, address, port, peer, rejected, direction, duration_ms, bulk, notes}
json to_json(const SpeedResult& r);
// Strict: errc::kProtocol naming the field, with the agent mismatch hint.
Result<SpeedResult> speed_result_from_json(const json& j);

}  // namespace sonde::net
