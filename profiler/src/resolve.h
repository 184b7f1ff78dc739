// Tagged pcs (unwinder output) → symbolized frames, once per distinct pc.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "maps.h"
#include "sonde/profiler/profile.h"
#include "sonde/profiler/symbolizer.h"

namespace sonde::profiler {

class FrameResolver {
 public:
  FrameResolver(ProcessView& view, Symbolizer& sym) : view_(view), sym_(sym) {}
  // The frames for one tagged pc: several when code was inlined there,
  // innermost first. The reference stays valid until the resolver dies.
  const std::vector<Frame>& resolve(uint64_t tagged_pc);
  size_t distinct() const { return cache_.size(); }

 private:
  ProcessView& view_;
  Symbolizer& sym_;
  std::unordered_map<uint64_t, std::vector<Frame>> cache_;
};

}  // namespace sonde::profiler
