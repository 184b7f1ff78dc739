// Text for `sonde connect`: one side's attempts as a table with their
// verdicts, routes, notes, what a failure means and the summary; then the
// comparison across sides.
#pragma once

#include <string>
#include <vector>

#include "sonde/net/connect.h"

namespace sonde::render {

std::string render_connect_side(const std::string& label, const net::ConnectResult& r);

// Each side's block and a blank line, then "comparison:" when there is one.
std::string render_connect(const std::vector<net::Side<net::ConnectResult>>& sides,
                           const std::vector<std::string>& comparison);

}  // namespace sonde::render
