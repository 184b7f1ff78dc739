#include "sonde/profiler/stack_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::profiler {

json to_json(const StackArgs& a) {
  return {{"pid", a.pid}, {"max_frames", a.max_frames}};
}

Result<StackArgs> stack_args_from_json(const json& j) {
  auto r = JsonReader::args("stack");
  StackArgs a;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, a.pid, Need::kRequired);
  r.integer(j, "max_frames", {}, a.max_frames);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const StackArgs& a) {
  if (a.pid <= 0)
    return Error{errc::kBadArgs, fmt::format("-p {} is not a process id", a.pid),
                 "sonde stack TARGET -p PID"};
  if (a.max_frames < 1 || a.max_frames > kMaxStackFrames)
    return Error{errc::kBadArgs, fmt::format("--max-frames must be 1..{}", kMaxStackFrames),
                 "e.g. --max-frames 256"};
  return ok_status();
}

Result<StackDump> stack_result_from_json(const json& j) {
  auto d = stack_dump_from_json(j);
  if (d) return d;
  Error e = d.error();
  e.hint = kPeerMismatchHint;
  return e;
}

}  // namespace sonde::profiler
