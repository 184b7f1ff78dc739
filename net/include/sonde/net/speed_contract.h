// The `net.speed` op's args: which way the bytes go, for how long, how many
// round trips to time, and where the agent's listener binds. Used by
// `sonde speed` and the handler; validate() is the one judge of a request.
// The agent answers with events ("listening", then the run) and a result
// built from net/speed.h's loops.
#pragma once

#include <string>

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

}  // namespace sonde::net
