#include "trace_events.h"

#include <fmt/format.h>

#include "../session.h"
#include "sonde/common/json_read.h"
#include "sonde/common/json_text.h"
#include "sonde/common/log.h"
#include "sonde/render/table.h"

namespace sonde::controller {

Status for_each_trace_event(const json& data, const char* who,
                            const std::function<void(const TraceEventView&)>& each) {
  auto rd = JsonReader::reply("trace", "event");
  if (!rd.object(data, {})) return rd.error();
  if (data.contains("phase")) {
    spdlog::info("{}: {}", who, json_text(data));
    return ok_status();
  }
  const json* evs = rd.array(data, "events", {});
  if (!evs) return rd.status();
  for (size_t i = 0; i < evs->size(); ++i) {
    const json& ev = (*evs)[i];
    JsonPath at = (JsonPath{} / "events")[i];
    if (!rd.object(ev, at)) return rd.error();
    TraceEventView v{ev, {}, 0, 0};
    rd.string(ev, "type", at, v.type);
    rd.integer(ev, "pid", at, v.pid);
    rd.integer(ev, "tids", at, v.tids);
    if (rd.failed()) return rd.error();
    each(v);
  }
  return ok_status();
}

Result<ptrace::TraceResult> run_trace_op(Session& s, const ptrace::TraceArgs& args,
                                         const std::function<Status(const json&)>& on_event,
                                         FILE* err) {
  auto r = s.call("trace", ptrace::to_json(args), on_event);
  if (!r) return r.error();
  auto sum = ptrace::trace_result_from_json(*r);
  if (!sum) return sum.error();
  for (const auto& n : sum->notes)
    std::fprintf(err, "sonde: note: %s\n", render::terminal_safe(n).c_str());
  return sum;
}

std::string attach_note(const TraceEventView& v) {
  if (v.type == "attached" && v.tids > 1)
    return fmt::format("sonde: Process {} attached with {} threads\n", v.pid, v.tids);
  return fmt::format("sonde: Process {} {}\n", v.pid, v.type);
}

}  // namespace sonde::controller
