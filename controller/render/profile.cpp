#include "sonde/render/profile.h"

#include <fmt/format.h>

#include "sonde/render/table.h"

namespace sonde::render {
namespace {

using sonde::profiler::Profile;

std::string duration_text(uint64_t ms) {
  if (ms < 1000) return fmt::format("{} ms", ms);
  return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000.0);
}

std::string percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string render_profile_summary(const Profile& p, size_t top_n) {
  uint64_t total = 0;
  for (const auto& s : p.stacks) total += s.count;
  // The counts are the truth for the percentages; `samples` may include
  // samples that produced no stack.
  uint64_t shown = total ? total : p.samples;

  std::string out =
      fmt::format("PID {} ({}): {} profile, {} Hz for {}\n", p.pid, terminal_safe(p.comm),
                  terminal_safe(p.mode), p.hz, duration_text(p.duration_ms));
  if (!p.sampler.empty())
    out +=
        fmt::format("sampler: {}{}\n", terminal_safe(p.sampler),
                    p.sampler_reason.empty() ? "" : " (" + terminal_safe(p.sampler_reason) + ")");
  out += fmt::format("samples: {}, lost: {}", shown, p.lost);
  if (p.lost) out += fmt::format(" ({})", percent(p.lost, shown + p.lost));
  out += fmt::format(", threads: {}\n", p.threads.size());
  for (const auto& n : p.notes) out += "note: " + terminal_safe(n) + "\n";
  if (total == 0) return out + "no stacks were sampled\n";

  auto stats = sonde::profiler::top_functions(p);
  Table t({{"SELF%", Align::kRight},
           {"SELF", Align::kRight},
           {"TOTAL%", Align::kRight},
           {"TOTAL", Align::kRight},
           {"FUNCTION"}});
  for (size_t i = 0; i < stats.size() && i < top_n; ++i) {
    const auto& f = stats[i];
    std::string module = basename_of(f.module);
    std::string name = f.name;
    // "libfoo.so+0x1234" already names its module.
    if (!module.empty() && !name.starts_with(module + "+")) name += " (" + module + ")";
    t.add_row({percent(f.self, total), std::to_string(f.self), percent(f.total, total),
               std::to_string(f.total), name});
  }
  // Piecewise, not `"\n" + string`: GCC 12 -O3's false -Wrestrict (bug 105651).
  out += '\n';
  out += t.render();
  if (stats.size() > top_n) out += fmt::format("(top {} of {} functions)\n", top_n, stats.size());
  return out;
}

}  // namespace sonde::render
