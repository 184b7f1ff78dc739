#include "sonde/common/clock.h"

#include <time.h>

#include <fmt/format.h>

#include "sonde/common/json_read.h"

namespace sonde {

std::optional<ClockOffset> estimate_clock(std::span<const ClockExchange> exchanges) {
  std::optional<ClockOffset> best;
  int64_t best_delay = 0;
  for (const auto& e : exchanges) {
    int64_t delay = e.received_ns - e.sent_ns;
    if (delay < 0) continue;
    // The midpoint without overflow: both are ns since 1970, far from the limits.
    int64_t mid = e.sent_ns + delay / 2;
    if (!best || delay < best_delay) {
      best = ClockOffset{e.agent_ns - mid, (delay + 1) / 2, 0};
      best_delay = delay;
    }
  }
  if (best) best->exchanges = static_cast<int>(exchanges.size());
  return best;
}

ClockInterval on_controller_clock(int64_t host_ns, const ClockOffset& c) {
  int64_t t = to_controller_clock(host_ns, c);
  return {t - c.bound_ns, t + c.bound_ns};
}

int order_events(const ClockInterval& a, const ClockInterval& b) {
  if (a.hi_ns < b.lo_ns) return -1;
  if (b.hi_ns < a.lo_ns) return 1;
  return 0;
}

std::string clock_text(const ClockOffset& c) {
  return fmt::format("{:+.3f} ms +/- {:.3f} ms", static_cast<double>(c.offset_ns) / 1e6,
                     static_cast<double>(c.bound_ns) / 1e6);
}

int64_t realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

json to_json(const ClockOffset& c) {
  return {{"offset_ns", c.offset_ns}, {"bound_ns", c.bound_ns}, {"exchanges", c.exchanges}};
}

Result<ClockOffset> clock_offset_from_json(const json& j) {
  JsonReader r = JsonReader::reply("clock", "offset");
  ClockOffset c;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "offset_ns", {}, c.offset_ns, Need::kRequired);
  r.integer(j, "bound_ns", {}, c.bound_ns, Need::kRequired);
  r.integer(j, "exchanges", {}, c.exchanges);
  if (!r.failed() && (c.bound_ns < 0 || c.exchanges < 0))
    r.fail({}, "bound_ns and exchanges must not be negative");
  if (r.failed()) return r.error();
  return c;
}

}  // namespace sonde
