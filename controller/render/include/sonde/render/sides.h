// The side-by-side text of the network checks (`sonde dns`, `connect`, `tls`):
// each side's block, a blank line after each, then the differences.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"

namespace sonde::render {

// Results are {side, result}; render_side gives one side's block. With
// several sides that agree, "differences: none".
std::string render_sides(
    const std::vector<sonde::json>& results,
    const std::function<std::string(const std::string&, const sonde::json&)>& render_side,
    const std::vector<std::string>& differences);

// "title:" and one "  - item" line per item; nothing when there are none.
std::string render_list(const char* title, const std::vector<std::string>& items);

}  // namespace sonde::render
