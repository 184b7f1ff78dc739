// `profile`: a sampling profile (sonde::profiler::run_profile), aggregated
// and symbolized here; only the distinct stacks cross the network. Progress
// events once a second.
#include "../handler.h"
#include "sonde/profiler/session.h"
#include "symbols.h"

namespace sonde::agent {

void register_profile(Registry& reg) {
  reg["profile"] = [](RequestContext& ctx) -> Result<json> {
    profiler::ProfileOptions o;
    auto pid = arg_int(ctx.args, "pid", 0);
    if (!pid) return pid.error();
    if (*pid < 0 || *pid > INT32_MAX) return Error{errc::kBadArgs, "bad pid", {}};
    o.pid = static_cast<pid_t>(*pid);
    if (auto it = ctx.args.find("argv"); it != ctx.args.end() && !it->is_null()) {
      if (!it->is_array() || it->empty())
        return Error{errc::kBadArgs, "argument `argv` must be a non-empty array of strings", {}};
      for (const auto& a : *it) {
        if (!a.is_string())
          return Error{errc::kBadArgs, "argument `argv` must be a non-empty array of strings", {}};
        o.argv.push_back(a.get<std::string>());
      }
    }
    auto hz = arg_int(ctx.args, "hz", 99);
    if (!hz) return hz.error();
    if (*hz < 1 || *hz > 10000)
      return Error{errc::kBadArgs, fmt::format("--hz {} is out of range", *hz), "use 1..10000"};
    o.hz = static_cast<uint32_t>(*hz);
    auto dur = arg_int(ctx.args, "duration_ms", o.argv.empty() ? 30000 : 0);
    if (!dur) return dur.error();
    if (*dur < 0 || *dur > 7L * 24 * 3600 * 1000)
      return Error{errc::kBadArgs, "duration out of range", {}};
    o.duration_ms = static_cast<uint64_t>(*dur);
    auto mode = arg_string(ctx.args, "mode", "cpu");
    if (!mode) return mode.error();
    o.mode = *mode;
    auto sampler = arg_string(ctx.args, "sampler", "auto");
    if (!sampler) return sampler.error();
    o.sampler = *sampler;

    auto progress = [&](const profiler::ProfileProgress& p) {
      ctx.emit({{"phase", "sampling"},
                {"elapsed_ms", p.elapsed_ms},
                {"duration_ms", p.duration_ms},
                {"samples", p.samples},
                {"threads", p.threads}});
    };
    profiler::ProfileCost cost;
    // The shared symbolizer is locked only for the final step: holding it
    // for the whole session would serialise concurrent profiles.
    auto& shared = SharedSymbolizer::instance();
    auto p =
        profiler::run_profile(o, shared.unlocked(), &shared.mutex(), ctx.cancel, progress, &cost);
    if (!p) return p.error();
    json out = profiler::to_json(*p);
    out["agent_cpu_ms"] =
        static_cast<double>(cost.sampling_cpu_us + cost.symbolize_cpu_us) / 1000.0;
    out["sampling_cpu_us"] = cost.sampling_cpu_us;
    out["symbolize_cpu_us"] = cost.symbolize_cpu_us;
    if (p->samples)
      out["cpu_us_per_sample"] =
          static_cast<double>(cost.sampling_cpu_us) / static_cast<double>(p->samples);
    return out;
  };
}

}  // namespace sonde::agent
