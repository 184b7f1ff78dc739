#include "sonde/render/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "sonde/render/fleet.h"
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

uint64_t stack_samples(const Profile& p) {
  uint64_t total = 0;
  for (const auto& s : p.stacks) total += s.count;
  return total;
}

// "name (module)"; "libfoo.so+0x1234" already names its module.
std::string function_text(const sonde::profiler::FunctionStat& f) {
  std::string module = basename_of(f.module);
  if (!module.empty() && !f.name.starts_with(module + "+")) return f.name + " (" + module + ")";
  return f.name;
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
    t.add_row({percent(f.self, total), std::to_string(f.self), percent(f.total, total),
               std::to_string(f.total), terminal_safe(function_text(f))});
  }
  // Piecewise, not `"\n" + string`: GCC 12 -O3's false -Wrestrict (bug 105651).
  out += '\n';
  out += t.render();
  if (stats.size() > top_n) out += fmt::format("(top {} of {} functions)\n", top_n, stats.size());
  return out;
}

std::string render_profile_fleet(const profiler::HostProfiles& hosts,
                                 const profiler::Profile& merged, size_t top_n,
                                 const HostFolder& fold) {
  const uint64_t total = stack_samples(merged);
  std::string out = fmt::format("{} host{}: {} profile, ", hosts.size(),
                                hosts.size() == 1 ? "" : "s", terminal_safe(merged.mode));
  out += merged.hz ? fmt::format("{} Hz", merged.hz) : std::string("rates differ");
  out += fmt::format(", up to {}; sampler {}\n", duration_text(merged.duration_ms),
                     terminal_safe(merged.sampler));
  out += fmt::format("samples: {}, lost: {}", total, merged.lost);
  if (merged.lost) out += fmt::format(" ({})", percent(merged.lost, total + merged.lost));
  out += "\n";
  for (const auto& n : merged.notes) out += "note: " + terminal_safe(n) + "\n";

  // One row per host, the busiest first.
  struct HostRow {
    const std::string* host;
    const Profile* p;
    uint64_t samples;
  };
  std::vector<HostRow> rows;
  std::map<std::string, size_t> hosts_with;  // function -> hosts that sampled it
  for (const auto& [host, p] : hosts) {
    rows.push_back({&host, &p, stack_samples(p)});
    for (const auto& f : sonde::profiler::top_functions(p)) ++hosts_with[function_text(f)];
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const HostRow& a, const HostRow& b) { return a.samples > b.samples; });
  Table ht({{"HOST"},
            {"PID", Align::kRight},
            {"COMM"},
            {"SAMPLES", Align::kRight},
            {"SHARE", Align::kRight},
            {"LOST", Align::kRight},
            {"SAMPLER"},
            {"HOTTEST (SELF%)"}});
  constexpr size_t kHostRows = 50;
  for (size_t i = 0; i < rows.size() && i < kHostRows; ++i) {
    const auto& r = rows[i];
    auto stats = sonde::profiler::top_functions(*r.p);
    std::string hottest = stats.empty() ? "-"
                                        : terminal_safe(function_text(stats[0])) + " (" +
                                              percent(stats[0].self, r.samples) + ")";
    ht.add_row({terminal_safe(*r.host), std::to_string(r.p->pid), terminal_safe(r.p->comm),
                std::to_string(r.samples), percent(r.samples, total), std::to_string(r.p->lost),
                terminal_safe(r.p->sampler), hottest});
  }
  out += '\n';
  out += ht.render();
  if (rows.size() > kHostRows) {
    std::vector<std::string> rest;
    for (size_t i = kHostRows; i < rows.size(); ++i) rest.push_back(*rows[i].host);
    out += fmt::format("... {} more hosts: {}\n", rest.size(), terminal_safe(fold(rest)));
  }
  if (total == 0) return out + "no stacks were sampled on any host\n";

  auto stats = sonde::profiler::top_functions(merged);
  Table t({{"SELF%", Align::kRight},
           {"SELF", Align::kRight},
           {"TOTAL%", Align::kRight},
           {"TOTAL", Align::kRight},
           {"HOSTS", Align::kRight},
           {"FUNCTION"}});
  for (size_t i = 0; i < stats.size() && i < top_n; ++i) {
    const auto& f = stats[i];
    std::string name = function_text(f);
    t.add_row({percent(f.self, total), std::to_string(f.self), percent(f.total, total),
               std::to_string(f.total), fmt::format("{}/{}", hosts_with[name], hosts.size()),
               terminal_safe(name)});
  }
  out += '\n';
  out += t.render();
  if (stats.size() > top_n) out += fmt::format("(top {} of {} functions)\n", top_n, stats.size());
  return out;
}

std::string render_profile_diff(const profiler::DiffSides& d, size_t top_n,
                                const HostFolder& fold) {
  std::string out =
      fmt::format("base: {} ({} host{}), against: {} ({} host{}); each host weighs the same\n",
                  terminal_safe(fold(d.base_hosts)), d.base_hosts.size(),
                  d.base_hosts.size() == 1 ? "" : "s", terminal_safe(fold(d.target_hosts)),
                  d.target_hosts.size(), d.target_hosts.size() == 1 ? "" : "s");
  const uint64_t bt = stack_samples(d.base), tt = stack_samples(d.target);
  struct Change {
    std::string name;
    double base = 0, now = 0;
  };
  std::map<std::string, Change> changes;
  auto pct = [](uint64_t v, uint64_t t) {
    return t ? 100.0 * static_cast<double>(v) / static_cast<double>(t) : 0.0;
  };
  for (const auto& f : sonde::profiler::top_functions(d.base)) {
    auto& c = changes[function_text(f)];
    c.base = pct(f.self, bt);
  }
  for (const auto& f : sonde::profiler::top_functions(d.target)) {
    auto& c = changes[function_text(f)];
    c.now = pct(f.self, tt);
  }
  std::vector<Change> rows;
  for (auto& [name, c] : changes) {
    c.name = name;
    rows.push_back(c);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Change& a, const Change& b) {
    return std::fabs(a.now - a.base) > std::fabs(b.now - b.base);
  });
  Table t(
      {{"CHANGE", Align::kRight}, {"BASE%", Align::kRight}, {"NOW%", Align::kRight}, {"FUNCTION"}});
  size_t shown = 0;
  for (const auto& c : rows) {
    if (shown == top_n) break;
    ++shown;
    t.add_row({fmt::format("{:+.1f}", c.now - c.base), fmt::format("{:.1f}%", c.base),
               fmt::format("{:.1f}%", c.now), terminal_safe(c.name)});
  }
  out += "self time by function, base against the rest (points of each side's samples):\n";
  out += t.render();
  if (rows.size() > shown) out += fmt::format("(top {} of {} functions)\n", shown, rows.size());
  return out;
}

}  // namespace sonde::render
