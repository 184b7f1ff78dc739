#include "sonde/ptrace/debug_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::ptrace {
namespace {

struct EventJson {
  json operator()(const DebugListening& e) const {
    return {{"listening", e.socket}, {"gdbserver", e.gdbserver}};
  }
  json operator()(const DebuggerConnected& e) const {
    return {{"debugger", "connected"},
            {"gdbserver_pid", e.gdbserver_pid},
            {"target_was_stopped", e.target_was_stopped}};
  }
  json operator()(const DebuggerEnded& e) const {
    return {{"debugger", "ended"},
            {"how", e.how},
            {"stderr", e.stderr_text},
            {"process_state", std::string(1, e.process_state)}};
  }
};

// A process state letter as /proc writes it: "S", "T", "?" (gone).
void read_state(JsonReader& r, const json& o, const JsonPath& at, char& out, Need need) {
  if (need == Need::kRequired && !r.field(o, "process_state", at, need)) return;
  std::optional<char> c;
  state_letter(r, o, "process_state", at, c);
  if (c) out = *c;
}

}  // namespace

json to_json(const DebugArgs& a) {
  return {{"pid", a.pid}, {"sudo", a.sudo}};
}

Result<DebugArgs> debug_args_from_json(const json& j) {
  auto r = JsonReader::args("gdbserver");
  DebugArgs a;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, a.pid, Need::kRequired);
  r.boolean(j, "sudo", {}, a.sudo);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const DebugArgs& a) {
  if (a.pid <= 0)
    return Error{errc::kBadArgs, fmt::format("-p {} is not a process id", a.pid),
                 "sonde debug TARGET -p PID"};
  return ok_status();
}

json to_json(const DebugEvent& e) {
  return std::visit(EventJson{}, e);
}

json to_json(const DebugResult& r) {
  json j = {{"pid", r.pid},
            {"socket", r.socket},
            {"debuggers", r.debuggers},
            {"continued", r.continued},
            {"process_state", std::string(1, r.process_state)},
            {"process_gone", r.process_gone}};
  if (r.tracer) j["tracer"] = *r.tracer;
  return j;
}

Result<std::optional<DebugEvent>> debug_event_from_json(const json& j) {
  auto r = JsonReader::reply("gdbserver", "event");
  if (!r.object(j, {})) return r.error();
  std::optional<DebugEvent> out;
  if (r.field(j, "listening", {})) {
    DebugListening e;
    r.string(j, "listening", {}, e.socket);
    r.string(j, "gdbserver", {}, e.gdbserver);
    out = e;
  } else {
    std::string debugger;
    r.string(j, "debugger", {}, debugger);
    if (debugger == "connected") {
      DebuggerConnected e;
      r.integer(j, "gdbserver_pid", {}, e.gdbserver_pid);
      r.boolean(j, "target_was_stopped", {}, e.target_was_stopped);
      out = e;
    } else if (debugger == "ended") {
      DebuggerEnded e;
      r.string(j, "how", {}, e.how);
      r.string(j, "stderr", {}, e.stderr_text);
      read_state(r, j, {}, e.process_state, Need::kOptional);
      out = e;
    }
  }
  if (r.failed()) return r.error();
  return out;
}

Result<DebugResult> debug_result_from_json(const json& j) {
  auto r = JsonReader::reply("gdbserver");
  DebugResult out;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, out.pid, Need::kRequired);
  r.string(j, "socket", {}, out.socket);
  r.integer(j, "debuggers", {}, out.debuggers);
  r.integer(j, "continued", {}, out.continued);
  read_state(r, j, {}, out.process_state, Need::kRequired);
  r.boolean(j, "process_gone", {}, out.process_gone);
  r.optional(j, "tracer", {}, out.tracer);
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::ptrace
