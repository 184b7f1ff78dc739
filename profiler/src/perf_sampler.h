// The primary sampler: one perf_event per thread (cpu-clock, user registers
// and a copy of the user stack in every sample). The kernel takes the
// snapshot in its timer interrupt, so the target never stops; we read the
// ring buffers and unwind the copies.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

#include "collector.h"
#include "sonde/common/result.h"

namespace sonde::profiler {

class PerfSampler {
 public:
  struct Options {
    uint32_t hz = 99;
    size_t stack_bytes = 16384;
    bool enable_on_exec = false;  // launch mode: count from the command's execve on
  };
  // Probes perf_event_open on the process's main thread. kPermission (with
  // the paranoid level and what to do) or kNotFound/kInternal otherwise.
  static Result<std::unique_ptr<PerfSampler>> open(pid_t pid, const Options& o);
  ~PerfSampler();

  // Opens events for threads not seen yet; forgets threads that exited.
  void scan_threads(Collector& c);
  // Waits up to timeout_ms for data, then drains every ring into c.
  void poll(int timeout_ms, Collector& c);
  size_t threads() const { return threads_.size(); }
  bool kernel_included() const { return kernel_; }

 private:
  struct Ring;
  PerfSampler(pid_t pid, const Options& o);
  Result<std::unique_ptr<Ring>> open_thread(pid_t tid);
  void drain(Ring& r, Collector& c);

  pid_t pid_;
  Options o_;
  bool kernel_ = true;  // sample kernel time too (shown as a [kernel] leaf)
  size_t pages_ = 64;
  std::map<pid_t, std::unique_ptr<Ring>> threads_;
  std::vector<uint8_t> rec_;  // a record that wraps around the ring's end
};

}  // namespace sonde::profiler
