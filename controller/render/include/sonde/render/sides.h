// The side-by-side text of the network checks (`sonde dns`, `connect`, `tls`,
// `diagnose`): each side's block, a blank line after each, then the
// differences; past kSideBlocksUpTo sides (a fleet of --from hosts), one line
// per side in a side x verdict matrix instead.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/net/side.h"
#include "sonde/render/table.h"

namespace sonde::render {

// Up to this many sides each get their block; more get the matrix.
inline constexpr size_t kSideBlocksUpTo = 4;

// One side's line of the matrix.
struct MatrixRow {
  std::string side;
  std::string verdict;
  // What makes a side odd: its verdict and what it saw (the answers, the
  // certificate). Rows whose key is rarest lead. "": the verdict.
  std::string key;
  std::vector<std::string> cells;  // one per column after SIDE and VERDICT
};

// SIDE, VERDICT and `columns`, the rarest keys first (ties in side order),
// then a tally line: "40 sides: 3 refused, 37 open".
std::string render_side_matrix(const std::vector<Column>& columns, std::vector<MatrixRow> rows);

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
