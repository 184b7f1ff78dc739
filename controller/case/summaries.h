// One-line summaries and key figures of agent op results for the case
// journal: the result's own `summary` when it has one (net.*), else one made
// per op (ps, inspect, trace, stack, profile, jvm.*), else a generic line.
#pragma once

#include <string>
#include <vector>

#include "sonde/common/frame.h"

namespace sonde::controller::casefile {

struct Summary {
  std::string line;
  std::vector<std::string> figures;
};

// One recorded op: {"op", "host", "result"} or {..., "error"}.
Summary summarize_op(const json& op);

// The entry's summary and figures from all its ops (command name, exit code
// for the generic line when nothing else is known).
Summary summarize_command(const std::string& command, const std::vector<json>& ops, int exit);

}  // namespace sonde::controller::casefile
