// gdbserver for `sonde debug`: a process served to one debugger at a time
// over a Unix socket only this session can reach, and what that changes on
// the target with how each change is undone: for the op's own exit paths and
// for the undo watchdog (agent/watchdog.*), which runs them when the agent
// died in the middle of a session.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "sonde/common/cancel.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/ptrace/debug_contract.h"

namespace sonde::debug {

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

// Serves process `pid` until `cancel` or until it exits. The agent listens on
// a Unix socket in a fresh 0700 directory of its own (DebugSocketDir), never
// on a TCP port: a TCP listener, even on loopback, lets any local user
// connect first and drive gdbserver with the agent's rights. Each accepted
// connection is handed to a gdbserver started on it in stdio mode
// (`gdbserver --attach - PID`): the process is attached only while a
// debugger is connected, and when that gdbserver ends it runs on (sent
// SIGCONT if it was left stopped). The directory goes when this returns.
// via_sudo: the socket is handed to the user sudo ran the agent for.
//
// Events: DebugListening first, then DebuggerConnected and DebuggerEnded
// for each debugger. The result says how many debuggers came and in which
// state the process was left.
Result<ptrace::DebugResult> serve_gdbserver(
    pid_t pid, bool via_sudo, const CancelToken& cancel,
    const std::function<void(const ptrace::DebugEvent&)>& emit);

}  // namespace sonde::debug
