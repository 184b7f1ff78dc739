#include "sonde/proc/inspect_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::proc {

json to_json(const InspectArgs& a) {
  return {{"pid", a.pid}, {"env", a.env}};
}

Result<InspectArgs> inspect_args_from_json(const json& j) {
  auto r = JsonReader::args("inspect");
  InspectArgs a;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, a.pid, Need::kRequired);
  r.boolean(j, "env", {}, a.env);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const InspectArgs& a) {
  if (a.pid <= 0)
    return Error{errc::kBadArgs, fmt::format("-p {} is not a process id", a.pid),
                 "sonde inspect TARGET -p PID"};
  return ok_status();
}

}  // namespace sonde::proc
