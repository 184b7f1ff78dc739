// Text for `sonde diagnose`: one side's ladder (a line per rung with ok,
// FAIL, warn or -) and the verdict with its evidence and next steps.
#pragma once

#include <string>

#include "sonde/net/diagnose.h"

namespace sonde::render {

std::string render_diagnose_side(const net::DiagnoseSide& side);

std::string render_verdict(const net::Verdict& v);

}  // namespace sonde::render
