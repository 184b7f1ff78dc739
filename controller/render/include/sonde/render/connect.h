// Text for `sonde connect`: one side's attempts as a table with their
// verdicts, routes, notes, what a failure means and the summary; then the
// comparison across sides.
#pragma once

#include <string>
#include <vector>

#include "sonde/net/connect.h"
#include "sonde/render/sides.h"

namespace sonde::render {

std::string render_connect_side(const std::string& label, const net::ConnectResult& r);

// A side x verdict matrix: side, verdict, attempts opened, median time, what
// the failure was; the rarest verdicts first (the odd hosts), then a tally.
std::string render_connect_matrix(const std::vector<net::Side<net::ConnectResult>>& sides);

// Each side's block and a blank line (or, past kSideBlocksUpTo sides, the
// matrix), then "comparison:" when there is one.
std::string render_connect(const std::vector<net::Side<net::ConnectResult>>& sides,
                           const std::vector<std::string>& comparison);

}  // namespace sonde::render
