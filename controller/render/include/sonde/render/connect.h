// Text for `sonde connect`: one side's attempts as a table with their
// verdicts, routes, notes, what a failure means and the summary; then the
// comparison across sides. Shapes in sonde/net/connect.h (to_json).
#pragma once

#include <string>
#include <vector>

#include "sonde/common/frame.h"

namespace sonde::render {

std::string render_connect_side(const std::string& label, const sonde::json& result);

// Each side's block and a blank line, then "comparison:" when there is one.
std::string render_connect(const std::vector<sonde::json>& results,
                           const std::vector<std::string>& comparison);

}  // namespace sonde::render
