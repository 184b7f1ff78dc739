// Whether this process may use perf_event_open, found by trying it (a
// disabled software counter on itself), and when not, why: the
// perf_event_paranoid level, a seccomp filter (a container's default profile
// refuses the call), or a kernel without perf events. Static checks of
// paranoid and capabilities miss the seccomp case.
#pragma once

#include <string>

namespace sonde::profiler {

struct PerfEventAccess {
  bool allowed = false;
  int error = 0;     // errno of the refused call
  std::string why;   // "perf_event_open refused by a seccomp filter (…)"
  std::string hint;  // what to do about it
};

PerfEventAccess probe_perf_event();

// The reason and hint for a perf_event_open that failed with errno e.
PerfEventAccess explain_perf_refusal(int e);

}  // namespace sonde::profiler
