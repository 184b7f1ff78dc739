// `stack`: every thread's stack (sonde::profiler::dump_stacks).
#include "sonde/profiler/stack.h"
#include "../handler.h"
#include "symbols.h"

namespace sonde::agent {

void register_stack(Registry& reg) {
  reg["stack"] = [](RequestContext& ctx) -> Result<json> {
    auto pid = arg_int(ctx.args, "pid", -1);
    if (!pid) return pid.error();
    if (*pid <= 0 || *pid > INT32_MAX)
      return Error{errc::kBadArgs, "stack needs a pid", "pass -p PID"};
    auto max_frames = arg_int(ctx.args, "max_frames", 256);
    if (!max_frames) return max_frames.error();
    if (*max_frames < 1 || *max_frames > 4096)
      return Error{errc::kBadArgs, "max_frames must be 1..4096", {}};
    profiler::StackOptions o;
    o.max_frames = static_cast<size_t>(*max_frames);
    SharedSymbolizer::Use sym(SharedSymbolizer::instance());
    auto d = profiler::dump_stacks(static_cast<pid_t>(*pid), o, *sym, &ctx.cancel);
    if (!d) return d.error();
    return profiler::to_json(*d);
  };
}

}  // namespace sonde::agent
