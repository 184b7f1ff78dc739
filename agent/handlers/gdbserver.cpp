// `gdbserver`: a gdbserver for PID that only this session can reach
// (sonde/debug/gdbserver.h says how). The controller reaches the socket
// through an SSH direct-streamlocal channel, or connects to it itself for
// `local`. Cancel ends it.
#include "sonde/debug/gdbserver.h"
#include "../handler.h"

namespace sonde::agent {

void register_gdbserver(Registry& reg) {
  reg["gdbserver"] = [](RequestContext& ctx) -> Result<json> {
    auto pid_arg = arg_int(ctx.args, "pid", -1);
    if (!pid_arg) return pid_arg.error();
    if (*pid_arg <= 0 || *pid_arg > INT32_MAX)
      return Error{errc::kBadArgs, "gdbserver needs a pid", "pass -p PID"};
    auto pid = static_cast<pid_t>(*pid_arg);
    auto via_sudo = arg_bool(ctx.args, "sudo", false);
    if (!via_sudo) return via_sudo.error();
    return debug::serve_gdbserver(pid, *via_sudo, ctx.cancel, ctx.emit);
  };
}

}  // namespace sonde::agent
