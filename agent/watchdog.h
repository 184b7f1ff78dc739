// The undo watchdog: a small process the agent forks first, before any
// thread, that outlives the agent and puts back every change the agent made
// to a target and did not undo itself.
//
// It is a grandchild in its own session (so neither sshd hanging up the
// agent's process group nor the agent's own waitpid(-1) reaches it), with
// stdio on /dev/null (it must not hold the SSH channel open: the controller
// waits for EOF there) and no fd but its end of a SOCK_SEQPACKET socketpair.
// The agent's end is close-on-exec, so no gdbserver or java we start keeps
// it open. Changes arrive as records (sonde/common/undo.h); EOF on the socket
// means the agent is gone, whatever killed it. With records left, the
// watchdog runs each one's undo action, newest first, within about a second,
// logs what it did to syslog (facility daemon, tag sonde-watchdog), and
// exits; with none it just exits.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "sonde/common/frame.h"

namespace sonde::agent {

// Forks the watchdog and connects the undo client to it. Call first in
// `serve`, before any thread exists. On failure the client is told, and
// every registration (hence every change) is refused with the reason.
void start_watchdog();

// The watchdog's pid, 0 when none runs. Sent in the agent's hello.
pid_t watchdog_pid();

struct UndoRecord {
  uint64_t id = 0;
  std::string kind;
  pid_t pid = 0;
  uint64_t start = 0;  // pid's start time when registered: the pid-reuse check
  json args;
};

// What undoes one kind of change. An action is idempotent, takes "already
// gone" (ESRCH, ENOENT) as done, acts on rec.pid only when its start time is
// still rec.start, and finishes well within a second. Returns a line for
// the log. New kinds (injected faults, network changes) add an entry to the
// table in watchdog.cpp and a constant in sonde/common/undo.h.
using UndoAction = std::function<std::string(const UndoRecord&)>;
const std::map<std::string, UndoAction>& undo_actions();

// Undoes the records, newest first; returns the log lines. What the
// watchdog runs at EOF.
std::vector<std::string> undo_all(const std::map<uint64_t, UndoRecord>& live);

}  // namespace sonde::agent
