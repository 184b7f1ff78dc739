// The `profile` op's contract: ProfileArgs (what the controller asks for)
// and ProfileResult (the Profile plus what it cost the agent), one JSON
// form each, used by the command and the handler. validate() is the one
// place that knows a well-formed request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/profiler/profile.h"

namespace sonde::profiler {

inline constexpr long kMaxProfileHz = 10000;
inline constexpr long kMaxProfileDurationMs = 7L * 24 * 3600 * 1000;

struct ProfileArgs {
  int pid = 0;                    // attach (-p)...
  std::vector<std::string> argv;  // ...or launch (-- CMD ARGS)
  long hz = 99;
  // Unset: 30 s for -p, until the command exits for -- CMD.
  std::optional<long> duration_ms;
  std::string mode = "cpu";      // cpu | wall
  std::string sampler = "auto";  // auto | perf | ptrace

  long effective_duration_ms() const { return duration_ms.value_or(argv.empty() ? 30000 : 0); }
};

json to_json(const ProfileArgs& a);
// Wrong types are errc::kBadArgs naming the field.
Result<ProfileArgs> profile_args_from_json(const json& j);
// Attach xor launch, pid, --hz, --duration, --mode, --sampler: errc::kBadArgs
// with a hint in the command line's terms.
Status validate(const ProfileArgs& a);

// The progress event the agent sends about once a second while sampling:
// {"phase":"sampling", elapsed_ms, duration_ms (0: open-ended), samples, threads}.
struct ProfileProgressEvent {
  uint64_t elapsed_ms = 0;
  uint64_t duration_ms = 0;
  uint64_t samples = 0;
  uint64_t threads = 0;
};
json to_json(const ProfileProgressEvent& e);
// nullopt for an event of another phase; errc::kProtocol naming a bad field.
Result<std::optional<ProfileProgressEvent>> profile_progress_from_json(const json& j);

struct ProfileResult {
  Profile profile;
  uint64_t sampling_cpu_us = 0;  // the agent's sampler thread
  uint64_t symbolize_cpu_us = 0;
};

// The Profile's fields, and agent_cpu_ms, sampling_cpu_us, symbolize_cpu_us,
// cpu_us_per_sample beside them (bench/profile reads agent_cpu_ms).
json to_json(const ProfileResult& r);
// Strict like profile_from_json; errors carry the agent mismatch hint.
Result<ProfileResult> profile_result_from_json(const json& j);

}  // namespace sonde::profiler
