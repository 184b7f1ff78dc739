#include "sonde/net/speed_contract.h"

#include "read.h"
#include "sonde/common/json_read.h"

namespace sonde::net {
namespace {

using contract::bounded_strings;
using contract::read_list;

void read_tcp_info(JsonReader& r, const json& o, const JsonPath& at, TcpInfo& t) {
  if (const json* tj = r.map(o, "tcp_info", at)) {
    const JsonPath w = at / "tcp_info";
    t.valid = true;
    r.integer(*tj, "total_retrans", w, t.total_retrans);
    r.integer(*tj, "rtt_us", w, t.rtt_us);
    r.integer(*tj, "rttvar_us", w, t.rttvar_us);
    r.integer(*tj, "snd_cwnd", w, t.snd_cwnd);
    r.integer(*tj, "snd_mss", w, t.snd_mss);
    r.integer(*tj, "pmtu", w, t.pmtu);
  }
}

void read_bulk(JsonReader& r, const json& bj, const JsonPath& w, BulkResult& b) {
  std::string role;
  r.string(bj, "role", w, role, Need::kRequired);
  if (!r.failed() && role != "sender" && role != "receiver")
    r.fail(w / "role", fmt::format("`{}` is not sender or receiver", role));
  b.sender = role == "sender";
  r.integer(bj, "bytes", w, b.bytes);
  r.number(bj, "seconds", w, b.seconds);
  r.number(bj, "gbps", w, b.gbps);
  read_list(r, bj, "intervals", w, kMaxSpeedIntervals, b.intervals,
            [](JsonReader& r, const json& ij, const JsonPath& iw, SpeedInterval& iv) {
              r.number(ij, "start_s", iw, iv.start_s);
              r.number(ij, "end_s", iw, iv.end_s);
              r.integer(ij, "bytes", iw, iv.bytes);
              r.number(ij, "gbps", iw, iv.gbps);
              r.integer(ij, "retransmits", iw, iv.retransmits);
            });
  // The wire has TCP_INFO at the end and the retransmits over the test; the
  // start is kept as far as that difference needs it.
  read_tcp_info(r, bj, w, b.tcp_end);
  uint32_t retransmits = 0;
  r.integer(bj, "retransmits", w, retransmits);
  b.tcp_start.total_retrans = b.tcp_end.total_retrans - retransmits;
  if (r.field(bj, "peer_bytes", w)) {
    b.peer_bytes_known = true;
    r.integer(bj, "peer_bytes", w, b.peer_bytes);
  }
}

}  // namespace

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

json to_json(const TcpInfo& t) {
  if (!t.valid) return nullptr;
  return {{"total_retrans", t.total_retrans}, {"rtt_us", t.rtt_us},   {"rttvar_us", t.rttvar_us},
          {"snd_cwnd", t.snd_cwnd},           {"snd_mss", t.snd_mss}, {"pmtu", t.pmtu}};
}

json to_json(const RttStats& s) {
  return {{"count", s.count},   {"min_us", s.min_us}, {"median_us", s.median_us},
          {"p90_us", s.p90_us}, {"max_us", s.max_us}, {"mean_us", s.mean_us}};
}

json to_json(const BulkResult& b) {
  json iv = json::array();
  for (const auto& i : b.intervals) {
    json j = {{"start_s", i.start_s}, {"end_s", i.end_s}, {"bytes", i.bytes}, {"gbps", i.gbps}};
    if (i.retransmits >= 0) j["retransmits"] = i.retransmits;
    iv.push_back(j);
  }
  json j = {{"role", b.sender ? "sender" : "receiver"},
            {"bytes", b.bytes},
            {"seconds", b.seconds},
            {"gbps", b.gbps},
            {"intervals", iv}};
  if (b.sender && b.tcp_end.valid) {
    j["tcp_info"] = to_json(b.tcp_end);
    j["retransmits"] = b.tcp_end.total_retrans - b.tcp_start.total_retrans;
  }
  if (b.peer_bytes_known) j["peer_bytes"] = b.peer_bytes;
  return j;
}

json to_json(const SpeedListening& e) {
  return {{"event", "listening"},
          {"address", e.address},
          {"port", e.port},
          {"bind_source", e.bind_source},
          {"token", token_hex(e.token)}};
}

Result<SpeedListening> speed_listening_from_json(const json& j) {
  auto r = JsonReader::reply("net.speed", "event");
  SpeedListening e;
  if (!r.object(j, {})) return r.error();
  std::string event;
  r.string(j, "event", {}, event, Need::kRequired);
  if (!r.failed() && event != "listening")
    r.fail(JsonPath{} / "event", fmt::format("`{}` is not listening", event));
  r.string(j, "address", {}, e.address);
  r.integer(j, "port", {}, e.port, Need::kRequired);
  r.string(j, "bind_source", {}, e.bind_source);
  std::string token;
  r.string(j, "token", {}, token, Need::kRequired);
  if (r.failed()) return r.error();
  auto t = token_from_hex(token);
  if (!t) r.fail(JsonPath{} / "token", "not 32 hex digits");
  if (r.failed()) return r.error();
  e.token = *t;
  return e;
}

json to_json(const SpeedProgress& p) {
  return {{"event", "progress"},
          {"phase", phase_name(p.phase)},
          {"role", p.sender ? "sender" : "receiver"},
          {"round_trips", p.round_trips},
          {"bytes", p.bytes},
          {"seconds", p.seconds},
          {"gbps", p.gbps}};
}

Result<SpeedProgress> speed_progress_from_json(const json& j) {
  auto r = JsonReader::reply("net.speed", "event");
  SpeedProgress p;
  if (!r.object(j, {})) return r.error();
  std::string event, phase, role;
  r.string(j, "event", {}, event, Need::kRequired);
  if (!r.failed() && event != "progress")
    r.fail(JsonPath{} / "event", fmt::format("`{}` is not progress", event));
  r.string(j, "phase", {}, phase, Need::kRequired);
  auto ph = phase_from_string(phase);
  if (!r.failed() && !ph) r.fail(JsonPath{} / "phase", fmt::format("`{}` is no phase", phase));
  r.string(j, "role", {}, role, Need::kRequired);
  if (!r.failed() && role != "sender" && role != "receiver")
    r.fail(JsonPath{} / "role", fmt::format("`{}` is not sender or receiver", role));
  r.integer(j, "round_trips", {}, p.round_trips);
  r.integer(j, "bytes", {}, p.bytes);
  r.number(j, "seconds", {}, p.seconds);
  r.number(j, "gbps", {}, p.gbps);
  if (r.failed()) return r.error();
  p.phase = *ph;
  p.sender = role == "sender";
  return p;
}

std::string speed_event_kind(const json& j) {
  if (!j.is_object()) return "";
  auto it = j.find("event");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

json to_json(const SpeedResult& r) {
  return {{"host", r.agent_host},
          {"address", r.address},
          {"port", r.port},
          {"peer", r.peer},
          {"rejected", r.rejected},
          {"direction", direction_name(r.direction)},
          {"duration_ms", r.duration_ms},
          {"bulk", to_json(r.bulk)},
          {"notes", r.notes}};
}

Result<SpeedResult> speed_result_from_json(const json& j) {
  auto r = JsonReader::reply("net.speed");
  SpeedResult out;
  if (!r.object(j, {})) return r.error();
  r.string(j, "host", {}, out.agent_host);
  r.string(j, "address", {}, out.address);
  r.integer(j, "port", {}, out.port);
  r.string(j, "peer", {}, out.peer);
  r.integer(j, "rejected", {}, out.rejected);
  std::string dir = direction_name(out.direction);
  r.string(j, "direction", {}, dir);
  if (!r.failed()) {
    if (auto d = direction_from_string(dir))
      out.direction = *d;
    else
      r.fail(JsonPath{} / "direction", fmt::format("`{}` is not upload or download", dir));
  }
  r.integer(j, "duration_ms", {}, out.duration_ms);
  if (const json* bj = r.map(j, "bulk", {}, Need::kRequired))
    read_bulk(r, *bj, JsonPath{} / "bulk", out.bulk);
  bounded_strings(r, j, "notes", {}, out.notes, kMaxSpeedNotes);
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::net
