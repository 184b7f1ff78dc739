// What `sonde debug` changes on the target, and how each change is undone:
// for the op's own exit paths and for the undo watchdog (agent/watchdog.*),
// which runs them when the agent died in the middle of a session.
#pragma once

#include <sys/types.h>

#include <string>

#include "sonde/common/result.h"

namespace sonde::agent {

// A fresh 0700 directory holding one Unix socket (0600), both owned by the
// user who may debug: the agent's user, or under sudo the user sudo ran it
// for (sshd connects to the socket as that user). Made with mkdtemp under
// $XDG_RUNTIME_DIR when it is ours, else /tmp.
struct DebugSocketDir {
  std::string dir;   // e.g. /tmp/sonde-gdb-Ab12Cd
  std::string path;  // dir + "/gdb.sock"
};

// Removes the socket and its directory; nothing else in it is touched.
// Safe to call twice, and for a directory already gone.
void remove_debug_socket_dir(const std::string& dir);

// Ends a gdbserver the agent started for `target` when the agent cannot do it
// the normal way (it died): its connection (gdbserver's stdin) is shut, so it
// removes its breakpoints and detaches by itself; one still alive after 2 s
// is killed. Then the target is sent SIGCONT if it is stopped now and was not
// before the session (target_was_stopped). Safe for a gdbserver already gone.
void stop_gdbserver(pid_t gdbserver, pid_t target, bool target_was_stopped);

}  // namespace sonde::agent
