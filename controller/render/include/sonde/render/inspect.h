// Text rendering of an `inspect` result.
#pragma once

#include <string>

#include "sonde/proc/inspect_contract.h"

namespace sonde::render {

std::string render_inspect_text(const proc::InspectResult& result);

}  // namespace sonde::render
