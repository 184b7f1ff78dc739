#include "sonde/proc/ps_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::proc {

json to_json(const PsArgs& a) {
  json j = {{"sort", a.sort}, {"interval_ms", a.interval_ms}, {"limit", a.limit}};
  if (!a.user.empty()) j["user"] = a.user;
  if (!a.name.empty()) j["name"] = a.name;
  if (a.hide_sonde) j["hide_sonde"] = true;
  return j;
}

Result<PsArgs> ps_args_from_json(const json& j) {
  auto r = JsonReader::args("ps");
  PsArgs a;
  if (!r.object(j, {})) return r.error();
  r.string(j, "user", {}, a.user);
  r.string(j, "name", {}, a.name);
  r.string(j, "sort", {}, a.sort);
  r.integer(j, "interval_ms", {}, a.interval_ms);
  r.integer(j, "limit", {}, a.limit);
  r.boolean(j, "hide_sonde", {}, a.hide_sonde);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const PsArgs& a) {
  if (a.interval_ms < 0 || a.interval_ms > kMaxPsIntervalMs)
    return Error{errc::kBadArgs, "--interval must be between 0 and 60s",
                 "e.g. --interval 100ms; 0 gives the lifetime average"};
  if (a.limit < 0) return Error{errc::kBadArgs, "--limit must not be negative", "0 shows all"};
  if (a.sort != "cpu" && a.sort != "mem" && a.sort != "pid")
    return Error{errc::kBadArgs, "unknown sort key `" + a.sort + "`", "use cpu, mem or pid"};
  return ok_status();
}

json to_json(const PsRow& r) {
  json row = {{"pid", r.pid},
              {"ppid", r.ppid},
              {"user", r.user},
              {"uid", r.uid},
              {"state", std::string(1, r.state)},
              {"cpu_pct", r.cpu_pct},
              {"rss_kb", r.rss_kb},
              {"mem_pct", r.mem_pct},
              {"threads", r.threads},
              {"start_time", r.start_time},
              {"comm", r.comm},
              {"cmdline", r.cmdline}};
  if (r.cmdline_more_bytes) row["cmdline_more_bytes"] = r.cmdline_more_bytes;
  return row;
}

json to_json(const PsResult& r) {
  json list = json::array();
  for (const auto& p : r.processes) list.push_back(to_json(p));
  return {{"interval_ms", r.interval_ms},
          {"cpu_source", r.cpu_source},
          {"total", r.total},
          {"shown", r.shown},
          {"more", r.more},
          {"cmdlines_cut", r.cmdlines_cut},
          {"mem_total_kb", r.mem_total_kb},
          {"sonde_hidden", r.sonde_hidden},
          {"processes", std::move(list)}};
}

Result<PsResult> ps_result_from_json(const json& j) {
  auto r = JsonReader::reply("ps");
  PsResult out;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "interval_ms", {}, out.interval_ms);
  r.string(j, "cpu_source", {}, out.cpu_source);
  r.integer(j, "total", {}, out.total);
  r.integer(j, "shown", {}, out.shown);
  r.integer(j, "more", {}, out.more);
  r.integer(j, "cmdlines_cut", {}, out.cmdlines_cut);
  r.integer(j, "mem_total_kb", {}, out.mem_total_kb);
  r.integer(j, "sonde_hidden", {}, out.sonde_hidden);
  if (const json* list = r.array(j, "processes", {})) {
    out.processes.reserve(list->size());
    for (size_t i = 0; i < list->size() && !r.failed(); ++i) {
      const json& pj = (*list)[i];
      JsonPath w = (JsonPath{} / "processes")[i];
      if (!r.object(pj, w)) break;
      PsRow p;
      r.integer(pj, "pid", w, p.pid);
      r.integer(pj, "ppid", w, p.ppid);
      r.string(pj, "user", w, p.user);
      r.integer(pj, "uid", w, p.uid);
      std::optional<char> state;
      state_letter(r, pj, "state", w, state);
      p.state = state.value_or('?');
      r.number(pj, "cpu_pct", w, p.cpu_pct);
      r.integer(pj, "rss_kb", w, p.rss_kb);
      r.number(pj, "mem_pct", w, p.mem_pct);
      r.integer(pj, "threads", w, p.threads);
      r.integer(pj, "start_time", w, p.start_time);
      r.string(pj, "comm", w, p.comm);
      r.string(pj, "cmdline", w, p.cmdline);
      r.integer(pj, "cmdline_more_bytes", w, p.cmdline_more_bytes);
      out.processes.push_back(std::move(p));
    }
  }
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::proc
