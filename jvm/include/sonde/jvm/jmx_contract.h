// The `jvm.jmx` op's result and event. The op starts a JVM's management
// agent for one forwarded port and answers in one of three ways:
//  - JmxAlreadyRunning: a remote connector was already there; nothing changed.
//  - JmxStarted: started with a fresh login. Sent as the "started" event
//    while the agent holds JMX for the session, or as the result with
//    --keep (kept, and where the login files stay).
//  - JmxEnded: the held agent was stopped (the session over, or the JVM
//    gone); also an older controller's `stop` request, with the JVM's text.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::jvm {

struct JmxAlreadyRunning {
  int pid = 0;
  std::string status;       // ManagementAgent.status as the JVM wrote it
  std::string url;          // the remote connector's, when shown
  std::optional<int> port;  // its registry port, from the URL
};

struct JmxStarted {
  int pid = 0;
  int port = 0;  // registry and RMI on one port
  std::string bind;
  std::string url;
  std::string user, password;  // this session's login
  std::string password_file;   // as the JVM sees it
  std::string status;          // ManagementAgent.status after the start
  bool kept = false;           // --keep: it outlives the session...
  std::string files;           // ...and so do its login files, here
};

struct JmxEnded {
  int pid = 0;
  bool stopped = false;
  bool files_removed = false;
  bool jvm_gone = false;
  std::optional<std::string> stop_error;  // why it could not be stopped
  std::optional<std::string> output;      // the stop request's answer: the JVM's text
};

using JmxResult = std::variant<JmxAlreadyRunning, JmxStarted, JmxEnded>;

json to_json(const JmxAlreadyRunning& r);
json to_json(const JmxStarted& r);
json to_json(const JmxEnded& r);
json to_json(const JmxResult& r);
// The shape is told by `already_running` (true, false, or absent for an
// end); strict otherwise: errc::kProtocol naming the field, with the
// mismatch hint.
Result<JmxResult> jmx_result_from_json(const json& j);

// The "started" event: a JmxStarted with "event": "started".
json started_event_json(const JmxStarted& s);
// nullopt for another event; errc::kProtocol naming a bad field.
Result<std::optional<JmxStarted>> jmx_event_from_json(const json& j);

}  // namespace sonde::jvm
