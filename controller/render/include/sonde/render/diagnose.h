// Text for `sonde diagnose`: one side's ladder (a line per rung with ok,
// FAIL, warn or -) and the verdict with its evidence and next steps.
#pragma once

#include <string>
#include <vector>

#include "sonde/net/diagnose.h"

namespace sonde::render {

std::string render_diagnose_side(const net::DiagnoseSide& side);

std::string render_verdict(const net::Verdict& v);

// Many sides: one line each, the first rung that failed (or warned) with its
// short verdict, each rung's mark, and its evidence; the rarest first.
std::string render_diagnose_matrix(const std::vector<net::DiagnoseSide>& sides);

}  // namespace sonde::render
