#include "sonde/common/ping_contract.h"

#include "sonde/common/json_read.h"

namespace sonde {
namespace {

// `echo` is the caller's, carried as any value: only its presence is read.
std::optional<json> echo_of(const json& j) {
  auto it = j.find("echo");
  if (it == j.end()) return std::nullopt;
  return *it;
}

}  // namespace

json to_json(const PingArgs& a) {
  json j = json::object();
  if (a.echo) j["echo"] = *a.echo;
  return j;
}

json to_json(const PingResult& r) {
  json j = {{"agent_time_ns", r.agent_time_ns}};
  if (r.echo) j["echo"] = *r.echo;
  return j;
}

Result<PingArgs> ping_args_from_json(const json& j) {
  JsonReader r = JsonReader::args("ping");
  if (!r.object(j, {})) return r.error();
  return PingArgs{echo_of(j)};
}

Result<PingResult> ping_result_from_json(const json& j) {
  JsonReader r = JsonReader::reply("ping");
  PingResult out;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "agent_time_ns", {}, out.agent_time_ns, Need::kRequired);
  if (r.failed()) return r.error();
  out.echo = echo_of(j);
  return out;
}

}  // namespace sonde
