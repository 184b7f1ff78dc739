// `gdbserver`: a gdbserver for PID that only this session can reach
// (sonde/debug/gdbserver.h says how). The controller reaches the socket
// through an SSH direct-streamlocal channel, or connects to it itself for
// `local`. Cancel ends it.
#include "sonde/debug/gdbserver.h"
#include "../handler.h"
#include "sonde/ptrace/debug_contract.h"

namespace sonde::agent {

void register_gdbserver(Registry& reg) {
  reg["gdbserver"] = [](RequestContext& ctx) -> Result<json> {
    auto args = ptrace::debug_args_from_json(ctx.args);
    if (!args) return args.error();
    if (auto st = ptrace::validate(*args); !st) return st.error();
    auto r = debug::serve_gdbserver(args->pid, args->sudo, ctx.cancel,
                                    [&](const ptrace::DebugEvent& e) { ctx.emit(to_json(e)); });
    if (!r) return r.error();
    return ptrace::to_json(*r);
  };
}

}  // namespace sonde::agent
