// The `stack` op's contract: StackArgs and validate(), used by the command
// and the handler; the result is a StackDump (profile.h) with its JSON form.
#pragma once

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/profiler/profile.h"

namespace sonde::profiler {

inline constexpr long kMaxStackFrames = 4096;

struct StackArgs {
  int pid = 0;
  long max_frames = 256;
};

json to_json(const StackArgs& a);
// Wrong types are errc::kBadArgs naming the field; pid is required.
Result<StackArgs> stack_args_from_json(const json& j);
Status validate(const StackArgs& a);

// stack_dump_from_json with the agent mismatch hint on its errors.
Result<StackDump> stack_result_from_json(const json& j);

}  // namespace sonde::profiler
