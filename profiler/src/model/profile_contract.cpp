#include "sonde/profiler/profile_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::profiler {
namespace {

Error usage(std::string msg, std::string hint = "sonde help profile") {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

}  // namespace

json to_json(const ProfileArgs& a) {
  json j = {{"hz", a.hz}, {"mode", a.mode}, {"sampler", a.sampler}};
  if (a.duration_ms) j["duration_ms"] = *a.duration_ms;
  if (!a.argv.empty())
    j["argv"] = a.argv;
  else
    j["pid"] = a.pid;
  return j;
}

Result<ProfileArgs> profile_args_from_json(const json& j) {
  auto r = JsonReader::args("profile");
  ProfileArgs a;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, a.pid);
  r.strings(j, "argv", {}, a.argv);
  r.integer(j, "hz", {}, a.hz);
  if (r.field(j, "duration_ms", {})) {
    long ms = 0;
    r.integer(j, "duration_ms", {}, ms);
    a.duration_ms = ms;
  }
  r.string(j, "mode", {}, a.mode);
  r.string(j, "sampler", {}, a.sampler);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const ProfileArgs& a) {
  bool launch = !a.argv.empty();
  if (launch == (a.pid != 0))
    return usage(launch ? "give either -p PID or -- CMD ARGS, not both"
                        : "nothing to profile: give -p PID or -- CMD ARGS",
                 "sonde profile TARGET -p PID, or sonde profile TARGET -- CMD ARGS");
  if (!launch && a.pid < 0) return usage(fmt::format("-p {} is not a process id", a.pid));
  if (launch && a.argv[0].empty()) return usage("the command to profile is empty");
  if (a.hz < 1 || a.hz > kMaxProfileHz)
    return usage(fmt::format("--hz {} is out of range", a.hz),
                 fmt::format("use 1..{}, e.g. --hz 99", kMaxProfileHz));
  if (a.duration_ms && (*a.duration_ms < 0 || *a.duration_ms > kMaxProfileDurationMs))
    return usage("--duration must be at most 7 days", "e.g. 30s, 2m");
  if (a.mode != "cpu" && a.mode != "wall") return usage("--mode must be cpu or wall");
  if (a.sampler != "auto" && a.sampler != "perf" && a.sampler != "ptrace")
    return usage("--sampler must be auto, perf or ptrace");
  return ok_status();
}

json to_json(const ProfileProgressEvent& e) {
  return {{"phase", "sampling"},
          {"elapsed_ms", e.elapsed_ms},
          {"duration_ms", e.duration_ms},
          {"samples", e.samples},
          {"threads", e.threads}};
}

Result<std::optional<ProfileProgressEvent>> profile_progress_from_json(const json& j) {
  auto r = JsonReader::reply("profile", "event");
  if (!r.object(j, {})) return r.error();
  std::string phase;
  r.string(j, "phase", {}, phase);
  if (r.failed()) return r.error();
  if (phase != "sampling") return std::optional<ProfileProgressEvent>{};
  ProfileProgressEvent e;
  r.integer(j, "elapsed_ms", {}, e.elapsed_ms);
  r.integer(j, "duration_ms", {}, e.duration_ms);
  r.integer(j, "samples", {}, e.samples);
  r.integer(j, "threads", {}, e.threads);
  if (r.failed()) return r.error();
  return std::optional<ProfileProgressEvent>{e};
}

json to_json(const ProfileResult& r) {
  json out = to_json(r.profile);
  out["agent_cpu_ms"] = static_cast<double>(r.sampling_cpu_us + r.symbolize_cpu_us) / 1000.0;
  out["sampling_cpu_us"] = r.sampling_cpu_us;
  out["symbolize_cpu_us"] = r.symbolize_cpu_us;
  if (r.profile.samples)
    out["cpu_us_per_sample"] =
        static_cast<double>(r.sampling_cpu_us) / static_cast<double>(r.profile.samples);
  return out;
}

Result<ProfileResult> profile_result_from_json(const json& j) {
  ProfileResult out;
  auto p = profile_from_json(j);
  if (!p) {
    Error e = p.error();
    e.hint = kPeerMismatchHint;
    return e;
  }
  out.profile = std::move(*p);
  auto r = JsonReader::reply("profile");
  r.integer(j, "sampling_cpu_us", {}, out.sampling_cpu_us);
  r.integer(j, "symbolize_cpu_us", {}, out.symbolize_cpu_us);
  // Derived from the two above; read only to refuse a wrong type.
  double derived = 0;
  r.number(j, "agent_cpu_ms", {}, derived);
  r.number(j, "cpu_us_per_sample", {}, derived);
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::profiler
