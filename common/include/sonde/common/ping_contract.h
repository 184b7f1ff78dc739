// The `ping` op: a round trip through the agent, with its clock. The
// agent answers with its CLOCK_REALTIME and echoes `echo` back unread, so a
// caller can measure the link with payloads of any size the frame allows.
#pragma once

#include <cstdint>
#include <optional>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde {

struct PingArgs {
  std::optional<json> echo;  // any value; returned as is
};

struct PingResult {
  int64_t agent_time_ns = 0;
  std::optional<json> echo;
};

json to_json(const PingArgs& a);
json to_json(const PingResult& r);
// errc::kBadArgs naming a bad field.
Result<PingArgs> ping_args_from_json(const json& j);
// Strict: agent_time_ns is required; errc::kProtocol with the mismatch hint.
Result<PingResult> ping_result_from_json(const json& j);

}  // namespace sonde
