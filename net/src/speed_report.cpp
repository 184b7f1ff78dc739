#include "sonde/net/speed_report.h"

#include <fmt/format.h>

#include <algorithm>

namespace sonde::net {

json to_json(const SpeedPath& p) {
  json j = {{"path", p.path}, {"status", p.status}};
  if (p.direction) j["direction"] = direction_name(*p.direction);
  if (!p.agent_listen.empty()) j["agent_listen"] = p.agent_listen;
  if (!p.address.empty()) j["address"] = p.address;
  if (p.status == "ok") {
    j["gbps"] = p.gbps;
    j["bytes"] = p.bytes;
    j["seconds"] = p.seconds;
    j["rtt"] = to_json(p.rtt);
    if (!p.tcp_info_from.empty()) {
      j["retransmits"] = or_null(p.retransmits);
      j["tcp_info"] = to_json(p.tcp_info);
      j["tcp_info_from"] = p.tcp_info_from;
    }
    j["controller"] = to_json(p.controller);
    j["agent"] = to_json(p.agent);
    if (!p.notes.empty()) j["notes"] = p.notes;
    return j;
  }
  j["reason"] = p.reason;
  if (p.status == "failed") {
    if (!p.hint.empty()) j["hint"] = p.hint;
    j["code"] = p.code;
  }
  return j;
}

void set_failed(SpeedPath& p, const Error& e) {
  p.status = "failed";
  p.reason = e.message;
  p.hint = e.hint;
  p.code = e.code;
}

void set_figures(SpeedPath& p, SpeedDirection dir, const SpeedRun& mine, const SpeedResult& agent,
                 bool sender_tcp) {
  const bool upload = dir == SpeedDirection::kUpload;
  const BulkResult& receiver = upload ? agent.bulk : mine.bulk;
  const BulkResult& sender = upload ? mine.bulk : agent.bulk;
  p.status = "ok";
  p.gbps = receiver.gbps;
  p.bytes = receiver.bytes;
  p.seconds = receiver.seconds;
  p.rtt = rtt_stats(mine.rtt_us);
  if (sender_tcp) {
    if (sender.sender && sender.tcp_end.valid) {
      p.retransmits = sender.tcp_end.total_retrans - sender.tcp_start.total_retrans;
      p.tcp_info = sender.tcp_end;
    }
    p.tcp_info_from = upload ? "controller (sender)" : "agent (sender)";
  }
  p.controller = mine.bulk;
  p.agent = agent.bulk;
  p.notes = agent.notes;
}

bool speed_ok(const SpeedReport& r) {
  return std::all_of(r.paths.begin(), r.paths.end(),
                     [](const SpeedPath& p) { return p.status == "ok" || p.status == "n/a"; });
}

std::string speed_summary(const SpeedReport& r) {
  std::string out;
  for (const auto& p : r.paths) {
    std::string part;
    if (p.status == "n/a") {
      part = fmt::format("{} n/a ({})", p.path, p.reason);
    } else {
      part = fmt::format("{} {}", p.path, p.direction ? direction_name(*p.direction) : "");
      if (p.status == "ok") {
        part += fmt::format(" {:.2f} Gbit/s", p.gbps);
        if (p.rtt.count > 0)
          part += fmt::format(", rtt median {:.3f} ms", p.rtt.median_us / 1000.0);
      } else {
        part += " failed: " + p.reason;
      }
    }
    out += (out.empty() ? "" : "; ") + part;
  }
  return out;
}

json to_json(const SpeedReport& r) {
  json paths = json::array();
  for (const auto& p : r.paths) paths.push_back(to_json(p));
  return {{"target", r.target},         {"transport", r.transport},
          {"agent_host", r.agent_host}, {"duration_ms", r.duration_ms},
          {"rtt_count", r.rtt_count},   {"paths", std::move(paths)},
          {"ok", speed_ok(r)},          {"summary", speed_summary(r)}};
}

}  // namespace sonde::net
