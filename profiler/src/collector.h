// Aggregates sampled stacks by address while the session runs: each sample
// is unwound at once (its snapshot is reused) and only the pcs are kept,
// counted per distinct (thread, stack). Symbols come at the end, once per pc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "resolve.h"
#include "snapshot.h"
#include "sonde/profiler/profile.h"
#include "unwinder.h"

namespace sonde::profiler {

class Collector {
 public:
  Collector(ProcessView& view, size_t max_frames)
      : view_(view), unwinder_(view), max_(max_frames) {}

  // leaf_syscall >= 0: the thread is blocked in that syscall (wall mode).
  // in_kernel: a perf sample taken while the thread ran kernel code.
  void add(const Snapshot& s, long leaf_syscall = -1, bool in_kernel = false);
  void add_lost(uint64_t n) { lost_ += n; }
  void name_thread(pid_t tid, const std::string& name) { names_[tid] = name; }
  uint64_t samples() const { return samples_; }
  uint64_t lost() const { return lost_; }

  // Symbolizes every distinct pc and fills frames, stacks, threads, counts.
  void finish(Profile& p, Symbolizer& sym);

 private:
  struct VecHash {
    size_t operator()(const std::vector<uint64_t>& v) const {
      uint64_t h = 1469598103934665603ull;
      for (uint64_t x : v) h = (h ^ x) * 1099511628211ull;
      return static_cast<size_t>(h);
    }
  };
  ProcessView& view_;
  Unwinder unwinder_;
  size_t max_;
  UnwoundStack scratch_;
  std::vector<uint64_t> key_;
  // key: tid, leaf marker, truncated, pcs...
  std::unordered_map<std::vector<uint64_t>, uint64_t, VecHash> counts_;
  std::map<pid_t, std::string> names_;
  uint64_t samples_ = 0, lost_ = 0;
};

}  // namespace sonde::profiler
