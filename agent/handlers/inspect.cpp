// `inspect`: one process from the inside (threads, limits, memory, fds, ...).
#include "sonde/proc/inspect.h"
#include "../handler.h"
#include "sonde/proc/inspect_contract.h"

namespace sonde::agent {

void register_inspect(Registry& reg) {
  reg["inspect"] = [](RequestContext& ctx) -> Result<json> {
    auto a = proc::inspect_args_from_json(ctx.args);
    if (!a) return a.error();
    if (auto st = proc::validate(*a); !st) return st.error();
    proc::InspectOptions o;
    o.env = a->env;
    auto r = proc::inspect_process(a->pid, o);
    if (!r) return r.error();
    return proc::to_json(*r);
  };
}

}  // namespace sonde::agent
