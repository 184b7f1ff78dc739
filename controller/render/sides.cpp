#include "sonde/render/sides.h"

#include "sonde/render/table.h"

namespace sonde::render {

std::string render_sides(
    const std::vector<sonde::json>& results,
    const std::function<std::string(const std::string&, const sonde::json&)>& render_side,
    const std::vector<std::string>& differences) {
  std::string out;
  for (const auto& s : results)
    out += render_side(s["side"].get<std::string>(), s["result"]) + "\n";
  if (differences.empty()) {
    if (results.size() > 1) out += "differences: none\n";
    return out;
  }
  return out + render_list("differences", differences);
}

std::string render_list(const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return "";
  std::string out = std::string(title) + ":\n";
  for (const auto& i : items) out += "  - " + terminal_safe(i) + "\n";
  return out;
}

}  // namespace sonde::render
