// Text rendering of a `ps` result (the JSON from sonde::proc::list_processes).
#pragma once

#include <string>

#include "sonde/common/frame.h"

namespace sonde::render {

// A ps-like table plus one summary line. term_width <= 0: no truncation.
std::string render_ps_text(const sonde::json& result, int term_width);

}  // namespace sonde::render
