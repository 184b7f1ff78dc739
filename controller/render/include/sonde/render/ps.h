// Text rendering of a `ps` result.
#pragma once

#include <string>

#include "sonde/proc/ps_contract.h"

namespace sonde::render {

// A ps-like table plus one summary line. term_width <= 0: no truncation.
std::string render_ps_text(const proc::PsResult& result, int term_width);

}  // namespace sonde::render
