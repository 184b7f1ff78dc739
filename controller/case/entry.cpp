// Journal entries to and from their JSON lines (entry.h).
#include "entry.h"

#include "sonde/common/json_read.h"

namespace sonde::controller::casefile {
namespace {

JsonReader journal_reader(const std::string& where) {
  return JsonReader(errc::kIo, where);
}

void read_op(JsonReader& r, const json& j, const JsonPath& at, OpRecord& o) {
  if (!r.object(j, at)) return;
  r.string(j, "op", at, o.op);
  if (const json* args = r.field(j, "args", at)) o.args = *args;
  r.string(j, "host", at, o.host);
  if (const json* result = r.failed() ? nullptr : r.field(j, "result", at)) o.result = *result;
  if (const json* e = r.failed() ? nullptr : r.map(j, "error", at)) {
    OpError err;
    r.string(*e, "code", at / "error", err.code);
    r.string(*e, "message", at / "error", err.message);
    r.string(*e, "hint", at / "error", err.hint);
    o.error = std::move(err);
  }
}

}  // namespace

json to_json(const OpRecord& o) {
  json j = {{"op", o.op}, {"args", o.args}};
  if (o.host) j["host"] = *o.host;
  if (o.result) j["result"] = *o.result;
  if (o.error)
    j["error"] = {{"code", o.error->code}, {"message", o.error->message}, {"hint", o.error->hint}};
  return j;
}

json to_json(const FleetHostRecord& h) {
  json j = {{"host", h.host}, {"ok", h.ok}, {"exit", h.exit}};
  if (!h.failure.empty()) j["failure"] = h.failure;
  if (!h.error.empty()) j["error"] = h.error;
  if (h.clock_offset_ns) j["clock_offset_ns"] = *h.clock_offset_ns;
  if (h.clock_bound_ns) j["clock_bound_ns"] = *h.clock_bound_ns;
  return j;
}

json to_json(const ClockRecord& c) {
  return {{"host", c.host},
          {"offset_ns", c.offset_ns},
          {"bound_ns", c.bound_ns},
          {"exchanges", c.exchanges}};
}

json to_json(const ArtifactRecord& a) {
  json j = {{"path", a.path}, {"kind", a.kind}};
  if (!a.from.empty()) j["from"] = a.from;
  if (a.bytes) j["bytes"] = *a.bytes;
  return j;
}

json to_json(const Entry& e) {
  json j = {{"v", e.v}, {"kind", e.kind}, {"ts", e.ts}, {"redacted", e.redacted}};
  if (!e.at.empty()) j["at"] = e.at;
  if (e.kind == "command") {
    j["argv"] = e.argv;
    j["command"] = e.command;
    j["target"] = e.target;
    j["host"] = e.host;
    if (e.duration_ms) j["duration_ms"] = *e.duration_ms;
    if (e.exit) j["exit"] = *e.exit;
    j["summary"] = e.summary;
    j["figures"] = e.figures;
    json ops = json::array();
    for (const auto& o : e.ops) ops.push_back(to_json(o));
    j["ops"] = std::move(ops);
    json artifacts = json::array();
    for (const auto& a : e.artifacts) artifacts.push_back(to_json(a));
    j["artifacts"] = std::move(artifacts);
    if (!e.clocks.empty()) {
      json clocks = json::array();
      for (const auto& c : e.clocks) clocks.push_back(to_json(c));
      j["clocks"] = std::move(clocks);
    }
    if (!e.fleet.empty()) {
      json hosts = json::array();
      for (const auto& h : e.fleet) hosts.push_back(to_json(h));
      j["fleet"] = std::move(hosts);
      j["merged"] = e.merged;
    }
    return j;
  }
  if (!e.text.empty() || e.kind == "note" || e.kind == "case") j["text"] = e.text;
  if (!e.tag.empty()) j["tag"] = e.tag;
  if (!e.summary.empty() || e.kind == "case") j["summary"] = e.summary;
  return j;
}

Result<Entry> entry_from_json(const json& j, const std::string& where) {
  auto r = journal_reader(where);
  Entry e;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "v", {}, e.v);
  r.string(j, "kind", {}, e.kind);
  r.string(j, "ts", {}, e.ts);
  r.string(j, "at", {}, e.at);
  r.integer(j, "redacted", {}, e.redacted);
  r.strings(j, "argv", {}, e.argv);
  r.string(j, "command", {}, e.command);
  r.string(j, "target", {}, e.target);
  r.string(j, "host", {}, e.host);
  r.integer(j, "duration_ms", {}, e.duration_ms);
  r.integer(j, "exit", {}, e.exit);
  r.string(j, "summary", {}, e.summary);
  r.strings(j, "figures", {}, e.figures);
  if (const json* ops = r.array(j, "ops", {})) {
    e.ops.resize(ops->size());
    for (size_t i = 0; i < ops->size() && !r.failed(); ++i)
      read_op(r, (*ops)[i], (JsonPath{} / "ops")[i], e.ops[i]);
  }
  if (const json* arts = r.array(j, "artifacts", {})) {
    e.artifacts.resize(arts->size());
    for (size_t i = 0; i < arts->size() && !r.failed(); ++i) {
      const json& a = (*arts)[i];
      JsonPath at = (JsonPath{} / "artifacts")[i];
      ArtifactRecord& art = e.artifacts[i];
      if (!r.object(a, at)) break;
      r.string(a, "path", at, art.path);
      r.string(a, "from", at, art.from);
      r.string(a, "kind", at, art.kind);
      r.integer(a, "bytes", at, art.bytes);
    }
  }
  if (const json* hosts = r.failed() ? nullptr : r.array(j, "fleet", {})) {
    e.fleet.resize(hosts->size());
    for (size_t i = 0; i < hosts->size() && !r.failed(); ++i) {
      const json& h = (*hosts)[i];
      JsonPath at = (JsonPath{} / "fleet")[i];
      FleetHostRecord& f = e.fleet[i];
      if (!r.object(h, at)) break;
      r.string(h, "host", at, f.host);
      r.boolean(h, "ok", at, f.ok);
      r.string(h, "failure", at, f.failure);
      r.integer(h, "exit", at, f.exit);
      r.string(h, "error", at, f.error);
      r.integer(h, "clock_offset_ns", at, f.clock_offset_ns);
      r.integer(h, "clock_bound_ns", at, f.clock_bound_ns);
    }
  }
  if (const json* clocks = r.failed() ? nullptr : r.array(j, "clocks", {})) {
    e.clocks.resize(clocks->size());
    for (size_t i = 0; i < clocks->size() && !r.failed(); ++i) {
      const json& c = (*clocks)[i];
      JsonPath at = (JsonPath{} / "clocks")[i];
      ClockRecord& k = e.clocks[i];
      if (!r.object(c, at)) break;
      r.string(c, "host", at, k.host);
      r.integer(c, "offset_ns", at, k.offset_ns);
      r.integer(c, "bound_ns", at, k.bound_ns);
      r.integer(c, "exchanges", at, k.exchanges);
    }
  }
  r.string(j, "merged", {}, e.merged);
  r.string(j, "text", {}, e.text);
  // Case events of early journals name the event under another key.
  for (const char* alias : {"event", "action", "state"})
    if (e.text.empty()) r.string(j, alias, {}, e.text);
  r.string(j, "tag", {}, e.tag);
  if (r.failed()) return r.error();
  return e;
}

}  // namespace sonde::controller::casefile
