// The side-by-side text of the network checks (`sonde dns`, `connect`, `tls`):
// each side's block, a blank line after each, then the differences.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/net/side.h"

namespace sonde::render {

// The blocks, each followed by a blank line, then the differences; with
// several sides that agree, "differences: none".
std::string render_side_blocks(const std::vector<std::string>& blocks,
                               const std::vector<std::string>& differences);

// Each side's block by render_side(label, result), as render_side_blocks.
template <typename R, typename RenderSide>
std::string render_sides(const std::vector<net::Side<R>>& sides, const RenderSide& render_side,
                         const std::vector<std::string>& differences) {
  std::vector<std::string> blocks;
  for (const auto& s : sides) blocks.push_back(render_side(s.label, s.result));
  return render_side_blocks(blocks, differences);
}

// The same for sides kept as {side, result} maps (built by the command).
std::string render_sides(
    const std::vector<sonde::json>& results,
    const std::function<std::string(const std::string&, const sonde::json&)>& render_side,
    const std::vector<std::string>& differences);

// "title:" and one "  - item" line per item; nothing when there are none.
std::string render_list(const char* title, const std::vector<std::string>& items);

}  // namespace sonde::render
