#include "sonde/net/speed_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::net {

json to_json(const SpeedArgs& a) {
  json j = {{"direction", direction_name(a.direction)},
            {"duration_ms", a.duration_ms},
            {"rtt_count", a.rtt_count},
            {"accept_timeout_ms", a.accept_timeout_ms}};
  if (!a.bind.empty()) j["bind"] = a.bind;
  if (!a.connect_to.empty()) j["connect_to"] = a.connect_to;
  return j;
}

Result<SpeedArgs> speed_args_from_json(const json& j) {
  auto r = JsonReader::args("net.speed");
  SpeedArgs a;
  if (!r.object(j, {})) return r.error();
  std::string dir = direction_name(a.direction);
  r.string(j, "direction", {}, dir);
  r.integer(j, "duration_ms", {}, a.duration_ms);
  r.integer(j, "rtt_count", {}, a.rtt_count);
  r.integer(j, "accept_timeout_ms", {}, a.accept_timeout_ms);
  r.string(j, "bind", {}, a.bind);
  r.string(j, "connect_to", {}, a.connect_to);
  if (r.failed()) return r.error();
  auto d = direction_from_string(dir);
  if (!d) r.fail(JsonPath{} / "direction", fmt::format("`{}` is not upload or download", dir));
  if (r.failed()) return r.error();
  a.direction = *d;
  return a;
}

Status validate(const SpeedArgs& a) {
  if (a.duration_ms < kSpeedMinDurationMs || a.duration_ms > kSpeedMaxDurationMs)
    return Error{errc::kBadArgs,
                 fmt::format("--duration must be {}ms..{}s", kSpeedMinDurationMs,
                             kSpeedMaxDurationMs / 1000),
                 "e.g. --duration 10s"};
  if (a.rtt_count < 0 || a.rtt_count > kSpeedMaxRttCount)
    return Error{errc::kBadArgs, fmt::format("--rtt-count must be 0..{}", kSpeedMaxRttCount),
                 "e.g. --rtt-count 100"};
  if (a.accept_timeout_ms < kSpeedMinAcceptTimeoutMs ||
      a.accept_timeout_ms > kSpeedMaxAcceptTimeoutMs)
    return Error{errc::kBadArgs,
                 fmt::format("accept_timeout_ms must be {}..{}", kSpeedMinAcceptTimeoutMs,
                             kSpeedMaxAcceptTimeoutMs),
                 {}};
  const std::string& b = a.bind;
  if (b == "0.0.0.0" || b == "::" || b == "[::]" || b == "*")
    return Error{errc::kBadArgs,
                 fmt::format("the speed test's listener binds one address, not every "
                             "interface (`{}`)",
                             b),
                 "give --bind an address of the target that this machine can reach"};
  return ok_status();
}

}  // namespace sonde::net
