// Shared by the `sonde jvm ...` commands (jvm.cpp, jvm_jfr.cpp, jvm_forward.cpp).
#pragma once

#include "../cli/command.h"

namespace sonde::controller {

// -p PID, checked.
Result<long> jvm_pid(const CommandContext& ctx);
// --attach-timeout in ms, parsed (jvm::validate checks the range with the op).
Result<long> attach_timeout(const CommandContext& ctx);
// Adds the next step to an error from a jvm.* op.
Error jvm_hint(Error e, const CommandContext& ctx);

}  // namespace sonde::controller
