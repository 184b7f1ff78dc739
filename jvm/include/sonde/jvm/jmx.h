// Starting the JVM's management agent (JMX over RMI) at runtime so that one
// forwarded port reaches it: the registry and the RMI server on the same
// port N, bound to a loopback address, and java.rmi.server.hostname set to
// 127.0.0.1 first (by a tiny Java agent sonde carries), because the stub the
// registry hands out names that host and a client through a tunnel must dial
// its own end of it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "sonde/common/cancel.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::jvm {

struct JmxStartOptions {
  pid_t pid = 0;
  int port = 0;                         // registry and RMI port
  std::string bind = "127.0.0.1";       // jmxremote.host
  std::string stub_host = "127.0.0.1";  // java.rmi.server.hostname
  long attach_timeout_ms = 10000;
};

// What ManagementAgent.status says.
struct JmxStatus {
  bool enabled = false;     // "Agent: enabled"
  bool remote = false;      // a remote connector runs
  std::string url;          // the remote connector's URL when shown
  std::optional<int> port;  // its registry port, from the URL
  std::string text;
};
JmxStatus parse_management_status(std::string_view output);

// errc::kBusy when the port is taken on the JVM's side (retry another);
// {"pid","port","bind","url","already_running":false} on success, or
// {"already_running":true,"status":..., "url", "port"} when a remote
// connector was already there (nothing is changed then).
Result<json> start_jmx(const JmxStartOptions& o, CancelToken* cancel);

std::string jmx_start_line(int port, const std::string& bind);
std::string jmx_url(int port);  // service:jmx:rmi:///jndi/rmi://localhost:N/jmxrmi

// The embedded helper jar (generated at build time); empty when the build
// had no javac.
std::string_view rmi_host_agent_jar();

}  // namespace sonde::jvm
