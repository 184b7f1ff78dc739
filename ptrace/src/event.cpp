#include "sonde/ptrace/event.h"

#include <signal.h>
#include <string.h>

#include "sonde/common/signals.h"
#include "sonde/ptrace/syscalls.h"
#include "tracer_internal.h"

namespace sonde::ptrace {

void TraceEvent::reset(Type t, pid_t p) {
  type = t;
  pid = p;
  ts_ns = 0;
  nr = -1;
  part = Part::kWhole;
  returned = true;
  ret = 0;
  dur_ns = 0;
  injected = false;
  args_text.clear();
  ret_text.clear();
  if (!args.is_null()) args = nullptr;
  sig = 0;
  group_stop = false;
  code = 0;
  tids = 0;
}

size_t TraceEvent::wire_size() const {
  // The keys and numbers, plus the strings; decoded args repeat args_text in
  // structured form, so it counts twice when they are there.
  size_t n = 96 + args_text.size() + ret_text.size();
  if (!args.is_null()) n += args_text.size() + 16 * args.size();
  return n;
}

json to_json(TraceEvent& ev) {
  using Type = TraceEvent::Type;
  switch (ev.type) {
    case Type::kSyscall: {
      const char* name = syscall_name(ev.nr);
      json j = {
          {"type", "syscall"},
          {"pid", ev.pid},
          {"name", ev.returned || ev.part != TraceEvent::Part::kWhole ? syscall_label(ev.nr)
                                                                      : (name ? name : "exit")},
          {"nr", ev.nr},
          {"args_text", ev.args_text},
          {"ret_text", ev.ret_text},
          {"ts_ns", ev.ts_ns},
          {"dur_ns", ev.dur_ns}};
      if (ev.returned)
        j["ret"] = ev.ret;
      else
        j["ret"] = nullptr;
      if (!ev.args.is_null()) j["args"] = std::move(ev.args);
      if (ev.injected) j["injected"] = true;
      if (ev.part == TraceEvent::Part::kUnfinished) j["unfinished"] = true;
      if (ev.part == TraceEvent::Part::kResumed) j["resumed"] = true;
      if (ev.returned && ev.ret < 0 && ev.ret > -4096)
        if (const char* en = errno_name(static_cast<int>(-ev.ret))) j["errno"] = en;
      return j;
    }
    case Type::kSignal: {
      json j = {
          {"type", "signal"}, {"pid", ev.pid}, {"sig", signal_text(ev.sig)}, {"ts_ns", ev.ts_ns}};
      if (ev.group_stop) j["group_stop"] = true;
      return j;
    }
    case Type::kExit:
      return {{"type", "exit"}, {"pid", ev.pid}, {"code", ev.code}, {"ts_ns", ev.ts_ns}};
    case Type::kKilled:
      return {
          {"type", "killed"}, {"pid", ev.pid}, {"sig", signal_text(ev.sig)}, {"ts_ns", ev.ts_ns}};
    case Type::kAttached:
      return {{"type", "attached"}, {"pid", ev.pid}, {"tids", ev.tids}, {"ts_ns", ev.ts_ns}};
    case Type::kDetached:
    default:
      return {{"type", "detached"}, {"pid", ev.pid}, {"ts_ns", ev.ts_ns}};
  }
}

}  // namespace sonde::ptrace
