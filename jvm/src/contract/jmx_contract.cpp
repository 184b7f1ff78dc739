#include "sonde/jvm/jmx_contract.h"

#include "contract_read.h"
#include "sonde/common/json_read.h"

namespace sonde::jvm {
namespace {

void read_started(JsonReader& r, const json& j, JmxStarted& s) {
  r.integer(j, "pid", {}, s.pid, Need::kRequired);
  read_port(r, j, "port", {}, s.port, Need::kRequired);
  r.string(j, "bind", {}, s.bind);
  r.string(j, "url", {}, s.url);
  r.string(j, "user", {}, s.user);
  r.string(j, "password", {}, s.password);
  r.string(j, "password_file", {}, s.password_file);
  r.string(j, "status", {}, s.status);
  r.boolean(j, "kept", {}, s.kept);
  r.string(j, "files", {}, s.files);
}

}  // namespace

json to_json(const JmxAlreadyRunning& r) {
  json j = {{"pid", r.pid}, {"already_running", true}, {"status", r.status}, {"url", r.url}};
  if (r.port) j["port"] = *r.port;
  return j;
}

json to_json(const JmxStarted& r) {
  json j = {{"pid", r.pid},           {"already_running", false},
            {"port", r.port},         {"bind", r.bind},
            {"url", r.url},           {"user", r.user},
            {"password", r.password}, {"password_file", r.password_file},
            {"status", r.status}};
  if (r.kept) {
    j["kept"] = true;
    j["files"] = r.files;
  }
  return j;
}

json to_json(const JmxEnded& r) {
  if (r.output) return {{"pid", r.pid}, {"stopped", r.stopped}, {"output", *r.output}};
  json j = {{"pid", r.pid}, {"stopped", r.stopped}, {"files_removed", r.files_removed}};
  if (r.jvm_gone) j["jvm_gone"] = true;
  if (r.stop_error) j["stop_error"] = *r.stop_error;
  return j;
}

json to_json(const JmxResult& r) {
  return std::visit([](const auto& v) { return to_json(v); }, r);
}

Result<JmxResult> jmx_result_from_json(const json& j) {
  JsonReader r = JsonReader::reply("jvm.jmx");
  if (!r.object(j, {})) return r.error();
  std::optional<bool> already;
  r.optional(j, "already_running", {}, already);
  JmxResult out;
  if (already && *already) {
    JmxAlreadyRunning a;
    r.integer(j, "pid", {}, a.pid, Need::kRequired);
    r.string(j, "status", {}, a.status);
    r.string(j, "url", {}, a.url);
    if (r.field(j, "port", {})) {
      int port = 0;
      read_port(r, j, "port", {}, port);
      a.port = port;
    }
    out = std::move(a);
  } else if (already) {
    JmxStarted s;
    read_started(r, j, s);
    out = std::move(s);
  } else {
    JmxEnded e;
    r.integer(j, "pid", {}, e.pid, Need::kRequired);
    r.boolean(j, "stopped", {}, e.stopped, Need::kRequired);
    r.boolean(j, "files_removed", {}, e.files_removed);
    r.boolean(j, "jvm_gone", {}, e.jvm_gone);
    r.optional(j, "stop_error", {}, e.stop_error);
    r.optional(j, "output", {}, e.output);
    out = std::move(e);
  }
  if (r.failed()) return r.error();
  return out;
}

json started_event_json(const JmxStarted& s) {
  json j = to_json(s);
  j["event"] = "started";
  return j;
}

Result<std::optional<JmxStarted>> jmx_event_from_json(const json& j) {
  JsonReader r = JsonReader::reply("jvm.jmx", "event");
  std::string event;
  if (!r.object(j, {})) return r.error();
  r.string(j, "event", {}, event);
  if (r.failed()) return r.error();
  if (event != "started") return std::optional<JmxStarted>{};
  JmxStarted s;
  read_started(r, j, s);
  if (r.failed()) return r.error();
  return std::optional<JmxStarted>{std::move(s)};
}

}  // namespace sonde::jvm
