// The `jvm.list` op's result: each JVM on the host as list_jvms() finds it
// from /proc, its command line and hsperfdata, without attaching. Built by
// the agent, read by `sonde jvm list` and `sonde jvm debug`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::jvm {

// The reader refuses more: a peer's list must not grow without bound.
// list_jvms() describes at most kMaxJvms and keeps kMaxJvmNotes notes.
inline constexpr size_t kMaxJvms = 4096;
inline constexpr size_t kMaxJvmNotes = 1024;
inline constexpr size_t kMaxListening = 65536;

// A -agentlib:jdwp= option, as the command line gives it.
struct JdwpAgent {
  std::string spec;       // as given: "transport=dt_socket,server=y,..."
  std::string transport;  // dt_socket, dt_shmem
  bool server = false;    // listens (y) or dials out to a debugger (n)
  bool suspend = true;    // JDWP's default is y
  std::string address;    // as given, may be empty (a random port)
  std::string host;       // "" = loopback only (JDK 9+ default), "*" = all
  int port = 0;           // 0 when not given
  // Not from the command line: jvm.list saw a socket listening on port.
  bool listening = false;
};

// -Dcom.sun.management.jmxremote* options.
struct JmxOptions {
  bool enabled = false;  // -Dcom.sun.management.jmxremote[.port]
  int port = 0;
  int rmi_port = 0;
  std::string host;
  std::optional<bool> authenticate, ssl;
  bool listening = false;  // as JdwpAgent's
};

struct JvmHeap {
  std::string max, initial;  // -Xmx, -Xms as written ("512m"); "" when not given
  std::optional<unsigned long long> max_bytes, initial_bytes;
  // From hsperfdata's generations, when it has them.
  std::optional<long long> committed_bytes, limit_bytes, used_bytes;
};

struct ListeningSocket {
  std::string address;  // "127.0.0.1:5005"
  int port = 0;
  std::string proto;  // tcp | tcp6
};

struct JvmContainer {
  bool same_mnt = true, same_pid = true, same_net = true;
  bool in_container = false;
};

struct JvmInfo {
  int pid = 0;
  bool hotspot = false;  // libjvm.so seen in its maps (else: a `java` launcher)
  // From /proc/PID/status; absent when it was not readable.
  std::optional<int> nspid;
  std::optional<long long> uid;
  std::optional<std::string> user;
  std::string command;
  std::string main;
  std::string main_kind;  // class | jar | module | source | ""
  std::string java_version;
  std::string vm_name;
  bool hsperfdata = false;
  // From /proc/PID/stat; absent when it was not readable.
  std::optional<double> uptime_s;
  std::optional<long long> start_epoch;
  JvmHeap heap;
  std::vector<ListeningSocket> listening;  // TCP ports it listens on
  std::optional<JdwpAgent> jdwp;
  JmxOptions jmx;
  JvmContainer container;
  bool attach_socket = false;  // its own attach socket is there
  bool attach_disabled = false;
  bool reduce_signals = false;
};

struct JvmListResult {
  std::vector<JvmInfo> jvms;
  std::vector<std::string> notes;
};

json to_json(const JdwpAgent& j);
json to_json(const JmxOptions& j);
json to_json(const ListeningSocket& l);
json to_json(const JvmInfo& j);
json to_json(const JvmListResult& r);
// Strict: each JVM needs its pid; wrong types, ports out of 0..65535 and
// lists over the limits above are errc::kProtocol naming the field, with
// the mismatch hint.
Result<JvmListResult> jvm_list_result_from_json(const json& j);

}  // namespace sonde::jvm
