// What the agent says about itself: the hello it sends before anything else
// (HelloFacts, cheap reads only) and the `capabilities` op's result
// (Capabilities: the hello plus what had to be tried or searched for). The
// agent builds them (agent/capabilities.cpp); the controller reads the hello
// in its handshake and the capabilities in `sonde hello`.
#pragma once

#include <optional>
#include <string>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde {

struct PtraceFacts {
  bool allowed = false;
  std::optional<long> yama_ptrace_scope;  // nullopt: no Yama LSM (null on the wire)
  bool cap_sys_ptrace = false;
  std::string why;
};

struct PerfEventFacts {
  std::optional<long> paranoid;  // nullopt: perf_event_paranoid not readable (null)
  bool cap_perfmon = false;
  bool present = false;  // the sysctl exists
  // Capabilities only: a real perf_event_open was tried, and why it failed.
  std::optional<bool> allowed;
  std::optional<std::string> why;
};

struct HelloFacts {
  std::string agent_version;
  long long protocol = 0;
  // From uname(2): absent when it failed.
  std::optional<std::string> kernel, arch, hostname;
  long long pid = 0;
  long long uid = 0, euid = 0, gid = 0, egid = 0;
  long long undo_watchdog = 0;  // the watchdog's pid; 0: none, changes are refused
  PtraceFacts ptrace;
  PerfEventFacts perf_event;
  bool cap_net_raw = false;
  bool cap_sys_admin = false;
};

struct JdkTools {
  std::optional<std::string> java, jcmd, jfr;  // nullopt: not found (null)
};

struct Capabilities {
  HelloFacts facts;  // with perf_event.allowed (and why) filled in
  JdkTools jdk_tools;
  std::optional<std::string> gdbserver;  // nullopt: not found (null)
};

json to_json(const HelloFacts& h);
json to_json(const Capabilities& c);

// The hello's data. Only `protocol` is sure to be there (parse_message
// checks it; an agent of another version or a stand-in may send little
// else): a missing field reads as its default, a wrong-typed one is
// errc::kProtocol naming it. Check the protocol version before this.
Result<HelloFacts> hello_from_json(const json& j);
// Strict: agent_version, protocol, the ids, ptrace and perf_event are
// required; errc::kProtocol naming the field, with the mismatch hint.
Result<Capabilities> capabilities_from_json(const json& j);

}  // namespace sonde
