// Text rendering of an `inspect` result.
#pragma once

#include <string>

#include "sonde/proc/inspect_contract.h"

namespace sonde::render {

std::string render_inspect_text(const proc::InspectResult& result);

// "permission denied on pid N: WHY; not read: exe, ..., open files": the
// refusal with the parts it cost, one line.
std::string denied_text(const proc::AccessDenied& denied);

}  // namespace sonde::render
