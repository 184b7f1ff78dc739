// Folded stacks, the input of flamegraph.pl, inferno and speedscope's import.
#include <map>

#include <fmt/format.h>

#include "sonde/profiler/export.h"

namespace sonde::profiler {
namespace {

// ';' separates frames and '\n' lines; a name carrying either (or any control
// character) from the target would split a frame or forge a line.
void append_clean(std::string& out, const std::string& name) {
  for (char c : name) {
    if (c == ';')
      out += ':';
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += ' ';
    else
      out += c;
  }
}

}  // namespace

std::string thread_label(const Profile& p, uint32_t thread) {
  if (p.threads.empty()) return {};
  if (thread >= p.threads.size()) return "[unknown thread]";
  const ThreadInfo& t = p.threads[thread];
  if (t.name.empty()) return fmt::format("{}", t.tid);
  return t.tid == 0 ? t.name : fmt::format("{}-{}", t.name, t.tid);
}

std::string thread_host(const Profile& p, uint32_t thread) {
  return thread < p.threads.size() ? p.threads[thread].host : std::string();
}

namespace {

// Each folded line of p with its count; different addresses fold to the same
// names, and merging them (sorted, as flamegraph.pl does anyway) makes the
// output stable and smaller.
std::map<std::string, uint64_t> folded_lines(const Profile& p) {
  std::vector<std::string> names;
  names.reserve(p.frames.size());
  for (const auto& f : p.frames) {
    std::string n;
    append_clean(n, display_name(f));
    names.push_back(std::move(n));
  }
  std::map<std::string, uint64_t> lines;
  for (const auto& s : p.stacks) {
    if (s.count == 0 || s.frames.empty()) continue;
    std::string line;
    // A fleet's merged profile: the host first, then the thread.
    if (std::string host = thread_host(p, s.thread); !host.empty()) append_clean(line, host);
    if (std::string thread = thread_label(p, s.thread); !thread.empty()) {
      if (!line.empty()) line += ';';
      append_clean(line, thread);
    }
    for (auto it = s.frames.rbegin(); it != s.frames.rend(); ++it) {
      if (!line.empty()) line += ';';
      line += *it < names.size() ? names[*it] : "[bad frame]";
    }
    lines[line] += s.count;
  }
  return lines;
}

}  // namespace

std::string export_folded(const Profile& p) {
  std::string out;
  for (const auto& [line, count] : folded_lines(p)) out += fmt::format("{} {}\n", line, count);
  return out;
}

std::string export_diff_folded(const Profile& base, const Profile& target) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> both;
  for (const auto& [line, count] : folded_lines(base)) both[line].first += count;
  for (const auto& [line, count] : folded_lines(target)) both[line].second += count;
  std::string out;
  for (const auto& [line, c] : both) out += fmt::format("{} {} {}\n", line, c.first, c.second);
  return out;
}

}  // namespace sonde::profiler
