#include "sonde/jvm/jfr_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::jvm {
namespace {

struct EventJson {
  json operator()(const JfrRecording& e) const {
    return {{"phase", "recording"}, {"elapsed_ms", e.elapsed_ms}, {"duration_ms", e.duration_ms}};
  }
  json operator()(const JfrDumping& e) const {
    return {{"phase", "dumping"}, {"stopped_early", e.stopped_early}};
  }
  json operator()(const JfrStreaming&) const { return {{"phase", "streaming"}}; }
  json operator()(const JfrChunk& e) const {
    return {{"phase", "data"},
            {"offset", e.offset},
            {"data", json::binary(std::vector<uint8_t>(e.data.begin(), e.data.end()))}};
  }
};

}  // namespace

json to_json(const JfrResult& r) {
  return {{"pid", r.pid},
          {"name", r.name},
          {"settings", r.settings},
          {"duration_ms", r.duration_ms},
          {"recorded_ms", r.recorded_ms},
          {"stopped_early", r.stopped_early},
          {"bytes", r.bytes},
          {"remote_path", r.remote_path}};
}

json to_json(const JfrEvent& e) {
  return std::visit(EventJson{}, e);
}

Result<JfrResult> jfr_result_from_json(const json& j) {
  JsonReader r = JsonReader::reply("jvm.jfr");
  JfrResult out;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, out.pid, Need::kRequired);
  r.string(j, "name", {}, out.name);
  r.string(j, "settings", {}, out.settings);
  r.integer(j, "duration_ms", {}, out.duration_ms);
  r.integer(j, "recorded_ms", {}, out.recorded_ms);
  r.boolean(j, "stopped_early", {}, out.stopped_early);
  r.integer(j, "bytes", {}, out.bytes, Need::kRequired);
  r.string(j, "remote_path", {}, out.remote_path);
  if (r.failed()) return r.error();
  return out;
}

Result<std::optional<JfrEvent>> jfr_event_from_json(const json& j) {
  JsonReader r = JsonReader::reply("jvm.jfr", "event");
  std::string phase;
  if (!r.object(j, {})) return r.error();
  r.string(j, "phase", {}, phase, Need::kRequired);
  std::optional<JfrEvent> out;
  if (phase == "recording") {
    JfrRecording e;
    r.integer(j, "elapsed_ms", {}, e.elapsed_ms);
    r.integer(j, "duration_ms", {}, e.duration_ms);
    out = e;
  } else if (phase == "dumping") {
    JfrDumping e;
    r.boolean(j, "stopped_early", {}, e.stopped_early);
    out = e;
  } else if (phase == "streaming") {
    out = JfrStreaming{};
  } else if (phase == "data") {
    JfrChunk e;
    r.integer(j, "offset", {}, e.offset, Need::kRequired);
    if (const json* d = r.field(j, "data", {}, Need::kRequired)) {
      if (d->is_binary())
        e.data = std::span<const uint8_t>(d->get_binary().data(), d->get_binary().size());
      else
        r.fail(JsonPath{} / "data", fmt::format("expected bytes, got {}", d->type_name()));
    }
    out = e;
  }
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::jvm
