// `ping`: a round trip through the agent, with its clock. Used to measure the
// link and to check an agent is alive without touching anything.
#include <time.h>

#include "../handler.h"
#include "sonde/common/ping_contract.h"

namespace sonde::agent {

void register_ping(Registry& reg) {
  reg["ping"] = [](RequestContext& ctx) -> Result<json> {
    auto args = ping_args_from_json(ctx.args);
    if (!args) return args.error();
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    PingResult out;
    out.agent_time_ns = static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
    out.echo = std::move(args->echo);
    return to_json(out);
  };
}

}  // namespace sonde::agent
