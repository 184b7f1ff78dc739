// The `inspect` op's args: which process, and whether to show its
// environment. Used by the command and the handler; validate() is the one
// judge of a request.
#pragma once

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::proc {

struct InspectArgs {
  int pid = 0;
  bool env = false;  // values may hold secrets: only when asked
};

json to_json(const InspectArgs& a);
// Wrong types are errc::kBadArgs naming the field; pid is required.
Result<InspectArgs> inspect_args_from_json(const json& j);
Status validate(const InspectArgs& a);

}  // namespace sonde::proc
