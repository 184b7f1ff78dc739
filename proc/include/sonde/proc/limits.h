// /proc/PID/limits: the resource limits as the process sees them.
#pragma once

#include <string_view>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::proc {

// Array of {name, soft, hard, units}. The file is a fixed-width table; the
// header's column positions say where each field starts.
Result<json> parse_limits(std::string_view text);

}  // namespace sonde::proc
