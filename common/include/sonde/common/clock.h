// One clock for many hosts: a host's clock offset against the controller's,
// by NTP's on-wire method over the agent channel. Each exchange is a `ping`:
// the controller notes its clock when it sends (t0) and when the answer comes
// (t3); the agent's answer carries its clock (t1 = t2: it answers at once).
// The exchange with the lowest delay (t3 - t0) is kept: its offset is
// t1 - (t0 + t3) / 2, true within ±delay/2 whatever the two directions took.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde {

struct ClockExchange {
  int64_t sent_ns = 0;      // t0, the controller's CLOCK_REALTIME
  int64_t agent_ns = 0;     // t1 = t2, the agent's
  int64_t received_ns = 0;  // t3, the controller's
};

struct ClockOffset {
  int64_t offset_ns = 0;  // the host's clock minus the controller's
  int64_t bound_ns = 0;   // the offset is true within ± this
  int exchanges = 0;      // how many were made
};

constexpr int kClockExchanges = 8;
// A host whose clock is off by more than this gets a warning.
constexpr int64_t kClockWarnNs = 100'000'000;

// The lowest-delay exchange's estimate; nullopt when there is none, or when
// every exchange ran backwards (t3 < t0: the controller's clock was stepped).
std::optional<ClockOffset> estimate_clock(std::span<const ClockExchange> exchanges);

// An event at `host_ns` on the host's clock, on the controller's clock.
inline int64_t to_controller_clock(int64_t host_ns, const ClockOffset& c) {
  return host_ns - c.offset_ns;
}

// An event's time on the controller's clock, as an interval: a host's clock
// reading moved by the host's offset, true within ±bound.
struct ClockInterval {
  int64_t lo_ns = 0, hi_ns = 0;
  int64_t mid_ns() const { return lo_ns + (hi_ns - lo_ns) / 2; }
};
ClockInterval on_controller_clock(int64_t host_ns, const ClockOffset& c);

// How two events (from different hosts) are ordered: -1 when a was surely
// before b, 1 when surely after, 0 when their intervals overlap and the order
// is not known. Events closer than the bounds are never put in an order.
int order_events(const ClockInterval& a, const ClockInterval& b);

// "+0.013 ms +/- 0.046 ms": an offset and its bound as hello shows them.
std::string clock_text(const ClockOffset& c);

// This machine's CLOCK_REALTIME in ns.
int64_t realtime_ns();

json to_json(const ClockOffset& c);
// Strict: errc::kProtocol naming the field.
Result<ClockOffset> clock_offset_from_json(const json& j);

}  // namespace sonde
