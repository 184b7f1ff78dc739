// `ps`: the process table with %CPU measured over a short interval.
#include "sonde/proc/ps.h"
#include "../handler.h"
#include "sonde/proc/ps_contract.h"

namespace sonde::agent {

void register_ps(Registry& reg) {
  reg["ps"] = [](RequestContext& ctx) -> Result<json> {
    auto a = proc::ps_args_from_json(ctx.args);
    if (!a) return a.error();
    if (auto st = proc::validate(*a); !st) return st.error();
    proc::PsOptions o;
    o.user = a->user;
    o.name_regex = a->name;
    o.sort = a->sort;
    o.interval_ms = a->interval_ms;
    o.limit = static_cast<size_t>(a->limit);
    o.hide_sonde = a->hide_sonde;
    if (o.interval_ms > 0) ctx.emit({{"phase", "sampling"}, {"interval_ms", o.interval_ms}});
    auto r = proc::list_processes(o, ctx.cancel);
    if (!r) return r.error();
    return proc::to_json(*r);
  };
}

}  // namespace sonde::agent
