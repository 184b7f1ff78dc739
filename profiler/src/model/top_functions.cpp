// The top-functions table (perf report's children/self view, by display name).
#include <algorithm>
#include <unordered_map>
#include <utility>

#include "sonde/profiler/profile.h"

namespace sonde::profiler {

std::vector<FunctionStat> top_functions(const Profile& p) {
  std::vector<FunctionStat> stats;
  // Several frames (addresses) share one function: map each frame index to
  // its row once, so the per-sample work is only index lookups.
  std::unordered_map<std::string, size_t> row_of_name;
  std::vector<size_t> row_of_frame(p.frames.size());
  for (size_t i = 0; i < p.frames.size(); ++i) {
    std::string name = display_name(p.frames[i]);
    auto [it, fresh] = row_of_name.try_emplace(name, stats.size());
    if (fresh) stats.push_back(FunctionStat{std::move(name), p.frames[i].module, 0, 0});
    row_of_frame[i] = it->second;
  }

  // The stack number that last added to each row's total: recursion (a
  // function on the stack twice) counts once per stack.
  std::vector<size_t> last_stack(stats.size(), SIZE_MAX);
  for (size_t s = 0; s < p.stacks.size(); ++s) {
    const StackCount& st = p.stacks[s];
    if (st.frames.empty() || st.count == 0) continue;
    bool leaf = true;
    for (uint32_t f : st.frames) {
      bool is_leaf = std::exchange(leaf, false);
      if (f >= row_of_frame.size()) continue;  // hand-built profile; the parser rejects these
      size_t row = row_of_frame[f];
      if (is_leaf) stats[row].self += st.count;
      if (last_stack[row] == s) continue;
      last_stack[row] = s;
      stats[row].total += st.count;
    }
  }

  std::erase_if(stats, [](const FunctionStat& f) { return f.total == 0; });
  std::sort(stats.begin(), stats.end(), [](const FunctionStat& a, const FunctionStat& b) {
    if (a.self != b.self) return a.self > b.self;
    if (a.total != b.total) return a.total > b.total;
    return a.name < b.name;
  });
  return stats;
}

}  // namespace sonde::profiler
