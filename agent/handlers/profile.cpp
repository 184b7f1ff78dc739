// `profile`: a sampling profile (sonde::profiler::run_profile), aggregated
// and symbolized here; only the distinct stacks cross the network. Progress
// events once a second.
#include "../handler.h"
#include "sonde/profiler/profile_contract.h"
#include "sonde/profiler/session.h"
#include "symbols.h"

namespace sonde::agent {

void register_profile(Registry& reg) {
  reg["profile"] = [](RequestContext& ctx) -> Result<json> {
    auto a = profiler::profile_args_from_json(ctx.args);
    if (!a) return a.error();
    if (auto st = profiler::validate(*a); !st) return st.error();
    profiler::ProfileOptions o;
    o.pid = a->pid;
    o.argv = a->argv;
    o.hz = static_cast<uint32_t>(a->hz);
    o.duration_ms = static_cast<uint64_t>(a->effective_duration_ms());
    o.mode = a->mode;
    o.sampler = a->sampler;

    auto progress = [&](const profiler::ProfileProgress& p) {
      ctx.emit(profiler::to_json(
          profiler::ProfileProgressEvent{p.elapsed_ms, p.duration_ms, p.samples, p.threads}));
    };
    profiler::ProfileCost cost;
    // The shared symbolizer is locked only for the final step: holding it
    // for the whole session would serialise concurrent profiles.
    auto& shared = SharedSymbolizer::instance();
    auto p =
        profiler::run_profile(o, shared.unlocked(), &shared.mutex(), ctx.cancel, progress, &cost);
    if (!p) return p.error();
    profiler::ProfileResult res{std::move(*p), cost.sampling_cpu_us, cost.symbolize_cpu_us};
    return profiler::to_json(res);
  };
}

}  // namespace sonde::agent
