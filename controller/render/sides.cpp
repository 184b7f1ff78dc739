#include "sonde/render/sides.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "sonde/render/table.h"

namespace sonde::render {

std::string render_side_blocks(const std::vector<std::string>& blocks,
                               const std::vector<std::string>& differences) {
  std::string out;
  for (const auto& b : blocks) out += b + "\n";
  if (differences.empty()) {
    if (blocks.size() > 1) out += "differences: none\n";
    return out;
  }
  return out + render_list("differences", differences);
}

std::string render_sides(
    const std::vector<sonde::json>& results,
    const std::function<std::string(const std::string&, const sonde::json&)>& render_side,
    const std::vector<std::string>& differences) {
  std::vector<std::string> blocks;
  // The command built these maps itself: side is always a string.
  for (const auto& s : results)
    blocks.push_back(render_side(s["side"].get<std::string>(), s["result"]));
  return render_side_blocks(blocks, differences);
}

std::string render_side_matrix(const std::vector<Column>& columns, std::vector<MatrixRow> rows) {
  std::map<std::string, size_t> by_key, by_verdict;
  for (auto& r : rows) {
    if (r.key.empty()) r.key = r.verdict;
    ++by_key[r.key];
    ++by_verdict[r.verdict];
  }
  // The odd ones first: the rarest key leads, ties in side order.
  std::stable_sort(rows.begin(), rows.end(), [&](const MatrixRow& a, const MatrixRow& b) {
    return by_key[a.key] < by_key[b.key];
  });
  std::vector<Column> all = {{"SIDE"}, {"VERDICT"}};
  all.insert(all.end(), columns.begin(), columns.end());
  Table t(all);
  for (const auto& r : rows) {
    std::vector<std::string> cells = {terminal_safe(r.side), terminal_safe(r.verdict)};
    for (size_t i = 0; i < columns.size(); ++i)
      cells.push_back(i < r.cells.size() ? terminal_safe(r.cells[i]) : "");
    t.add_row(std::move(cells));
  }
  std::string tally;
  for (const auto& [v, n] : by_verdict)
    tally += (tally.empty() ? "" : ", ") + fmt::format("{} {}", n, terminal_safe(v));
  return t.render() + fmt::format("{} sides: {}\n", rows.size(), tally);
}

std::string render_list(const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return "";
  std::string out = std::string(title) + ":\n";
  for (const auto& i : items) out += "  - " + terminal_safe(i) + "\n";
  return out;
}

}  // namespace sonde::render
