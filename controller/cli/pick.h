// Naming a process by what it is rather than by its pid, for commands run
// over many hosts where every host has its own pid (`stack web[01-40]
// --pgrep java`).
#pragma once

#include <string>

#include "../session.h"
#include "sonde/common/result.h"

namespace sonde::controller {

// The oldest process whose name or command line matches the regex, as
// `pgrep -o -f` picks it; errc::kNotFound naming the regex when none does.
// The agent itself never counts.
Result<int> pick_process(Session& s, const std::string& regex);

}  // namespace sonde::controller
