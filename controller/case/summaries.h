// One-line summaries and key figures of agent op results for the case
// journal: the result's own `summary` when it has one (net.*), else one made
// per op (ps, inspect, trace from their typed results; stack, profile, jvm.*
// from their JSON), else a generic line. A result that does not read gives
// the generic line: the journal records what happened either way.
#pragma once

#include <string>
#include <vector>

#include "entry.h"

namespace sonde::controller::casefile {

struct Summary {
  std::string line;
  std::vector<std::string> figures;
};

Summary summarize_op(const OpRecord& op);

// The entry's summary and figures from all its ops (command name, exit code
// for the generic line when nothing else is known).
Summary summarize_command(const std::string& command, const std::vector<OpRecord>& ops, int exit);

}  // namespace sonde::controller::casefile
