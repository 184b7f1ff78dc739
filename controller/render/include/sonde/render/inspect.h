// Text rendering of an `inspect` result (sonde::proc::inspect_process JSON).
#pragma once

#include <string>

#include "sonde/common/frame.h"

namespace sonde::render {

std::string render_inspect_text(const sonde::json& result);

}  // namespace sonde::render
