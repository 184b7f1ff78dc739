// Starting the JVM's management agent (JMX over RMI) at runtime so that one
// forwarded port reaches it: the registry and the RMI server on the same
// port N, bound to a loopback address, and java.rmi.server.hostname set to
// 127.0.0.1 first (by a tiny Java agent sonde carries), because the stub the
// registry hands out names that host and a client through a tunnel must dial
// its own end of it.
//
// The agent asks for a login: a per-session user and random password in a
// password file (0600) and an access file, both owned by the JVM's user in
// a fresh 0700 directory in the JVM's /tmp (the JDK refuses a password file
// others may read). stop_jmx() undoes all of it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "sonde/common/cancel.h"
#include "sonde/common/result.h"
#include "sonde/jvm/jmx_contract.h"

namespace sonde::jvm {

struct JmxStartOptions {
  pid_t pid = 0;
  int port = 0;                         // registry and RMI port
  std::string bind = "127.0.0.1";       // jmxremote.host
  std::string stub_host = "127.0.0.1";  // java.rmi.server.hostname
  long attach_timeout_ms = 10000;
};

// The login files of one session. Plain strings so that the undo watchdog
// can keep a copy and call stop_jmx() with it.
struct JmxFiles {
  std::string dir;      // as the agent reaches it (/tmp/..., or /proc/PID/root/tmp/...)
  std::string jvm_dir;  // the same directory as the JVM sees it
  std::string user;
  std::string password;
  std::string password_file() const { return jvm_dir + "/jmxremote.password"; }
  std::string access_file() const { return jvm_dir + "/jmxremote.access"; }
};

// Makes the directory and both files for JVM pid, owned by its user.
Result<JmxFiles> make_jmx_files(pid_t pid);
// Removes the files and the directory (agent's view); safe to call twice.
void remove_jmx_files(const std::string& dir);

// Stops the management agent's remote connector in JVM pid (ManagementAgent.stop,
// bounded by attach timeouts, no cancel) and removes the session's login
// files. The one undo of `jvm.jmx`: the op's own end, and the watchdog when
// the agent died. A JVM already gone is not an error; the files go anyway.
Status stop_jmx(pid_t pid, const std::string& files_dir);

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
// a JmxStarted on success, or a JmxAlreadyRunning when a remote connector
// was already there (nothing is changed then); never a JmxEnded.
// A fresh login is made in *files (the caller owns it from then on, and
// calls stop_jmx when done); files->dir stays empty when nothing was started.
Result<JmxResult> start_jmx(const JmxStartOptions& o, CancelToken* cancel, JmxFiles* files);

// With authentication through `files` (their JVM-side paths).
std::string jmx_start_line(int port, const std::string& bind, const JmxFiles& files);
std::string jmx_url(int port);  // service:jmx:rmi:///jndi/rmi://localhost:N/jmxrmi

// The embedded helper jar (generated at build time); empty when the build
// had no javac.
std::string_view rmi_host_agent_jar();

}  // namespace sonde::jvm
