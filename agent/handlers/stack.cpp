// `stack`: every thread's stack (sonde::profiler::dump_stacks).
#include "sonde/profiler/stack.h"
#include "../handler.h"
#include "sonde/profiler/stack_contract.h"
#include "symbols.h"

namespace sonde::agent {

void register_stack(Registry& reg) {
  reg["stack"] = [](RequestContext& ctx) -> Result<json> {
    auto a = profiler::stack_args_from_json(ctx.args);
    if (!a) return a.error();
    if (auto st = profiler::validate(*a); !st) return st.error();
    profiler::StackOptions o;
    o.max_frames = static_cast<size_t>(a->max_frames);
    SharedSymbolizer::Use sym(SharedSymbolizer::instance());
    auto d = profiler::dump_stacks(a->pid, o, *sym, &ctx.cancel);
    if (!d) return d.error();
    return profiler::to_json(*d);
  };
}

}  // namespace sonde::agent
