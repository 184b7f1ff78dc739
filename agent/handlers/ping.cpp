// `ping`: a round trip through the agent, with its clock. Used to measure the
// link and to check an agent is alive without touching anything.
#include <cstdlib>
#include <string_view>

#include "../handler.h"
#include "sonde/common/clock.h"
#include "sonde/common/ping_contract.h"
#include "sonde/proc/text.h"

namespace sonde::agent {
namespace {

// SONDE_CLOCK_OFFSET_NS shifts the clock ping reports, so tests can give a
// host a clock that is off (fleet merges and the case timeline put events on
// the controller's clock). Within a day; anything else reads as 0.
int64_t test_clock_offset() {
  const char* v = std::getenv("SONDE_CLOCK_OFFSET_NS");
  if (v == nullptr) return 0;
  std::string_view s(v);
  if (s.starts_with('+')) s.remove_prefix(1);
  constexpr long long kDay = 86'400'000'000'000LL;
  auto n = proc::to_ll(s);
  return n && *n >= -kDay && *n <= kDay ? *n : 0;
}

}  // namespace

void register_ping(Registry& reg) {
  reg["ping"] = [](RequestContext& ctx) -> Result<json> {
    auto args = ping_args_from_json(ctx.args);
    if (!args) return args.error();
    static const int64_t offset = test_clock_offset();
    PingResult out;
    out.agent_time_ns = realtime_ns() + offset;
    out.echo = std::move(args->echo);
    return to_json(out);
  };
}

}  // namespace sonde::agent
