// `inspect`: one process from the inside (threads, limits, memory, fds, ...).
#include "sonde/proc/inspect.h"
#include "../handler.h"

namespace sonde::agent {

void register_inspect(Registry& reg) {
  reg["inspect"] = [](RequestContext& ctx) -> Result<json> {
    auto pid = arg_int(ctx.args, "pid", -1);
    if (!pid) return pid.error();
    if (*pid <= 0) return Error{errc::kBadArgs, "inspect needs a pid", "pass -p PID"};
    auto env = arg_bool(ctx.args, "env", false);
    if (!env) return env.error();
    proc::InspectOptions o;
    o.env = *env;
    return proc::inspect_process(static_cast<int>(*pid), o);
  };
}

}  // namespace sonde::agent
