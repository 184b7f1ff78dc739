// The `gdbserver` op's args (sonde debug): which process a gdbserver
// attaches to, and whether it runs through sudo. Here beside the tracer's
// contract because gdbserver takes the process's one ptrace slot. Used by
// the command and the handler; validate() is the one judge of a request.
#pragma once

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::ptrace {

struct DebugArgs {
  int pid = 0;
  bool sudo = false;
};

json to_json(const DebugArgs& a);
// Wrong types are errc::kBadArgs naming the field; pid is required.
Result<DebugArgs> debug_args_from_json(const json& j);
Status validate(const DebugArgs& a);

}  // namespace sonde::ptrace
