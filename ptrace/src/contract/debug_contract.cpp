#include "sonde/ptrace/debug_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::ptrace {

json to_json(const DebugArgs& a) {
  return {{"pid", a.pid}, {"sudo", a.sudo}};
}

Result<DebugArgs> debug_args_from_json(const json& j) {
  auto r = JsonReader::args("gdbserver");
  DebugArgs a;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, a.pid, Need::kRequired);
  r.boolean(j, "sudo", {}, a.sudo);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const DebugArgs& a) {
  if (a.pid <= 0)
    return Error{errc::kBadArgs, fmt::format("-p {} is not a process id", a.pid),
                 "sonde debug TARGET -p PID"};
  return ok_status();
}

}  // namespace sonde::ptrace
