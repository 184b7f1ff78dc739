#include "sonde/proc/limits.h"

#include "sonde/proc/text.h"

namespace sonde::proc {

Result<std::vector<Limit>> parse_limits(std::string_view text) {
  auto lines = split_char(text, '\n');
  if (lines.empty()) return Error{errc::kIo, "limits: empty", {}};
  std::string_view header = lines[0];
  auto soft_at = header.find("Soft Limit");
  auto hard_at = header.find("Hard Limit");
  auto units_at = header.find("Units");
  if (!header.starts_with("Limit") || soft_at == std::string_view::npos ||
      hard_at == std::string_view::npos || units_at == std::string_view::npos ||
      !(soft_at < hard_at && hard_at < units_at))
    return Error{errc::kIo, "limits: unexpected header", {}};
  auto col = [](std::string_view line, size_t from, size_t to) {
    if (from >= line.size()) return std::string();
    // The kernel writes this file, but a cut or odd read must still make
    // valid JSON text: the controller's --json output throws on bad UTF-8.
    return utf8_safe(trim(line.substr(from, to == std::string_view::npos ? to : to - from)));
  };
  std::vector<Limit> out;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (trim(l).empty()) continue;
    Limit row{col(l, 0, soft_at), col(l, soft_at, hard_at), col(l, hard_at, units_at),
              col(l, units_at, std::string_view::npos)};
    if (row.name.empty()) continue;
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace sonde::proc
