// `ping`: a round trip through the agent, with its clock. Used to measure the
// link and to check an agent is alive without touching anything.
#include <time.h>

#include "../handler.h"

namespace sonde::agent {

void register_ping(Registry& reg) {
  reg["ping"] = [](RequestContext& ctx) -> Result<json> {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json out = {{"agent_time_ns", static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec}};
    if (auto it = ctx.args.find("echo"); it != ctx.args.end()) out["echo"] = *it;
    return out;
  };
}

}  // namespace sonde::agent
