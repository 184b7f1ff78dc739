// /proc/PID/limits: the resource limits as the process sees them.
#pragma once

#include <string_view>

#include <vector>

#include "sonde/common/result.h"
#include "sonde/proc/inspect_contract.h"

namespace sonde::proc {

// Its rows. The file is a fixed-width table; the header's column positions
// say where each field starts.
Result<std::vector<Limit>> parse_limits(std::string_view text);

}  // namespace sonde::proc
