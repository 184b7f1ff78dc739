// The `gdbserver` op's contract (sonde debug): which process a gdbserver
// attaches to and whether it runs through sudo; the events while debuggers
// come and go; the result saying in which state the process was left. Here
// beside the tracer's contract because gdbserver takes the process's one
// ptrace slot. Used by the command and the handler (through
// debug::serve_gdbserver); validate() is the one judge of a request.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::ptrace {

struct DebugArgs {
  int pid = 0;
  bool sudo = false;
};

json to_json(const DebugArgs& a);
// Wrong types are errc::kBadArgs naming the field; pid is required.
Result<DebugArgs> debug_args_from_json(const json& j);
Status validate(const DebugArgs& a);

// Events. The first says where the agent listens for the debugger:
// {"listening": SOCKET, "gdbserver": PATH}.
struct DebugListening {
  std::string socket;  // a Unix socket on the target, in a 0700 directory
  std::string gdbserver;
};
// {"debugger": "connected", ...}: a gdbserver now serves one debugger.
struct DebuggerConnected {
  long long gdbserver_pid = 0;
  bool target_was_stopped = false;
};
// {"debugger": "ended", ...}: that gdbserver is gone.
struct DebuggerEnded {
  std::string how;          // "exited with status 0", "killed by signal 9"
  std::string stderr_text;  // the end of what it wrote ("stderr" on the wire)
  char process_state = '?';
};
using DebugEvent = std::variant<DebugListening, DebuggerConnected, DebuggerEnded>;

struct DebugResult {
  int pid = 0;
  std::string socket;
  long long debuggers = 0;  // connections served
  long long continued = 0;  // times the process was left stopped and sent SIGCONT
  char process_state = '?';
  bool process_gone = false;
  std::optional<std::string> tracer;  // who traces it now ("" none); absent when gone
};

json to_json(const DebugEvent& e);
json to_json(const DebugResult& r);
// nullopt for an event this controller does not know (a newer agent's);
// errc::kProtocol naming a bad field, with the mismatch hint.
Result<std::optional<DebugEvent>> debug_event_from_json(const json& j);
// Strict: pid and process_state are required.
Result<DebugResult> debug_result_from_json(const json& j);

}  // namespace sonde::ptrace
