// The report as JSON: the same model, for scripts.
#include "report_model.h"

namespace sonde::controller::casefile {

using namespace report_model;

namespace {

json view_json(const View& v) {
  json j = {{"kind", v.kind},
            {"at", v.at_ms ? format_utc(*v.at_ms, "%Y-%m-%dT%H:%M:%SZ") : v.at_raw}};
  if (!v.host.empty()) j["host"] = v.host;
  if (v.kind == "command") {
    j["command_line"] = v.line;
    j["summary"] = v.summary;
    if (v.exit) j["exit"] = *v.exit;
    j["figures"] = v.figures;
    if (!v.clocks.empty()) {
      json clocks = json::array();
      for (const auto& c : v.clocks) clocks.push_back(to_json(c));
      j["clocks"] = std::move(clocks);
    }
    if (!v.fleet.empty()) {
      json hosts = json::array();
      for (const auto& h : v.fleet) hosts.push_back(to_json(h));
      j["fleet"] = std::move(hosts);
      j["merged"] = v.merged;
    }
    json arts = json::array();
    for (const auto& a : v.artifacts)
      arts.push_back({{"path", a.path}, {"kind", a.kind}, {"redacted", !unredacted(a)}});
    j["artifacts"] = arts;
  } else {
    j["text"] = v.line;
    if (!v.tag.empty()) j["tag"] = v.tag;
  }
  return j;
}

}  // namespace

json render_json(const ReportInput& in) {
  Model m = build(in);
  json sections = json::object();
  json summary = json::array();
  for (const auto& l : m.lead) summary.push_back(l);
  sections["summary"] = summary;
  json timeline = json::array();
  for (const View& v : m.views) timeline.push_back(view_json(v));
  sections["timeline"] = timeline;
  json seen = json::array();
  for (const auto& [host, views] : m.seen_by_host)
    for (const View* v : views) seen.push_back(view_json(*v));
  for (const View* v : m.observations) seen.push_back(view_json(*v));
  sections["seen"] = seen;
  for (const Section& s : m.sections) {
    json items = json::array();
    for (const View* v : s.items) items.push_back(view_json(*v));
    sections[s.id] = items;
  }
  json c = {{"name", m.info.name},
            {"title", m.info.title},
            {"created", m.info.created},
            {"closed", m.info.closed.empty() ? json(nullptr) : json(m.info.closed)},
            {"dir", m.info.dir},
            {"hosts", m.hosts},
            {"commands", m.commands},
            {"failed", m.failed},
            {"notes", m.notes},
            {"artifacts", m.artifacts}};
  json raw = json::array();
  for (const auto& a : m.raw)
    raw.push_back({{"path", a.path}, {"kind", a.kind}, {"bytes", a.bytes}});
  return {{"case", c},
          {"sections", sections},
          {"warnings", m.warnings},
          {"redacted", m.redacted},
          {"unredacted_artifacts", raw}};
}

}  // namespace sonde::controller::casefile
