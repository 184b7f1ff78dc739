// `sonde profile`: sample a process's threads for a while, aggregate their
// stacks by address, symbolize each distinct address once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "sonde/common/cancel.h"
#include "sonde/common/result.h"
#include "sonde/profiler/profile.h"
#include "sonde/profiler/symbolizer.h"

namespace sonde::profiler {

struct ProfileOptions {
  pid_t pid = 0;                  // attach to this process...
  std::vector<std::string> argv;  // ...or launch this command
  uint32_t hz = 99;
  uint64_t duration_ms = 30000;  // 0: until the process exits (or cancel)
  std::string mode = "cpu";      // cpu: on-CPU samples; wall: every thread, blocked or not
  std::string sampler = "auto";  // auto | perf | ptrace
  size_t max_frames = 256;
  size_t perf_stack_bytes = 16384;  // the kernel copies this much stack per sample
  size_t ptrace_stack_bytes = 65536;
};

struct ProfileProgress {
  uint64_t elapsed_ms = 0;
  uint64_t duration_ms = 0;  // 0: open-ended
  uint64_t samples = 0;
  size_t threads = 0;
};
using ProgressFn = std::function<void(const ProfileProgress&)>;

// The CPU the profiling itself cost (sampler, unwinder, symbolizer), so the
// caller can report the cost per sample.
struct ProfileCost {
  uint64_t sampling_cpu_us = 0;  // sampler thread: reading, unwinding, aggregating
  uint64_t symbolize_cpu_us = 0;
};

// sym is used only once sampling ended, under sym_mu when given (a
// symbolizer shared between requests).
Result<Profile> run_profile(const ProfileOptions& o, Symbolizer& sym, std::mutex* sym_mu,
                            CancelToken& cancel, const ProgressFn& progress,
                            ProfileCost* cost = nullptr);

}  // namespace sonde::profiler
