#include "sonde/render/sides.h"

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

std::string render_list(const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return "";
  std::string out = std::string(title) + ":\n";
  for (const auto& i : items) out += "  - " + terminal_safe(i) + "\n";
  return out;
}

}  // namespace sonde::render
