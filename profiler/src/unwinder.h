// libunwind over a copied snapshot: registers and stack bytes come from the
// Snapshot, code and unwind tables from the module files (ProcessView), so
// unwinding never reads the target and never needs it stopped.
#pragma once

#include <cstdint>
#include <vector>

#include "maps.h"
#include "snapshot.h"

namespace sonde::profiler {

// Unwound pcs carry two flags in their top bits (user addresses are < 2^47).
inline constexpr uint64_t kPcReturn = uint64_t{1} << 63;  // a return address: symbolize pc-1
inline constexpr uint64_t kPcSignal = uint64_t{1} << 62;  // the signal trampoline frame
inline constexpr uint64_t kPcMask = kPcSignal - 1;

struct UnwoundStack {
  std::vector<uint64_t> pcs;  // innermost first, tagged with kPcReturn/kPcSignal
  bool truncated = false;     // the unwinder gave up before the outermost frame
};

class Unwinder {
 public:
  explicit Unwinder(ProcessView& view);
  ~Unwinder();
  Unwinder(const Unwinder&) = delete;
  Unwinder& operator=(const Unwinder&) = delete;

  void unwind(const Snapshot& s, UnwoundStack& out, size_t max_frames = 256);
  // After the process mapped or unmapped code: forget cached unwind info.
  void flush();

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace sonde::profiler
