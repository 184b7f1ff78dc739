// The client side of the undo watchdog (agent/watchdog.h has the other side).
//
// Every change sonde makes to a target (a CPU affinity mask, a started JMX
// agent, a gdbserver holding a process, a file in a JVM's /tmp, later
// injected faults) is registered here BEFORE it is made, and the Change
// handle unregisters it when the code that made the change has undone it.
// If the agent dies with changes still registered (SIGKILL, OOM killer, the
// SSH link dropped, a worker stuck past the shutdown grace), the watchdog
// undoes them.
//
// A registration is one SOCK_SEQPACKET message with no reply: once send()
// has returned, the record is queued in the watchdog's socket, and a socket
// delivers what was queued before its EOF. So a change made after
// register_change() returned is never missed, and no round trip is paid.
//
// Libraries register without knowing whether a watchdog runs: in a process
// that never called connect() (unit tests, a library used alone) a
// registration is an inactive handle and the change goes ahead.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::undo {

// Kinds the watchdog knows how to undo (agent/watchdog.cpp's action table).
// pid is the process the record's pid-reuse check applies to. Args:
//   affinity   pid = the thread;    {mask: [u64 words of its cpu_set_t]}
//   gdbserver  pid = the gdbserver; {target, target_start, was_stopped}
//   jmx        pid = the JVM;       {port, dir (its login files, once made)}
//   jfr        pid = the JVM;       {name, path (as the agent sees it)}
//   file       pid = whose /proc/PID/root the path goes through, or 0; {path}
//              (a folder of ours goes with the files in it, one level deep)
//   netfault   pid = 0; the undo record of a network fault (net/fault_host.h's
//              FaultRecord, also on disk under /run/sonde/inject), removed
//              once the fault is
inline constexpr const char* kAffinity = "affinity";
inline constexpr const char* kGdbserver = "gdbserver";
inline constexpr const char* kJmx = "jmx";
inline constexpr const char* kJfr = "jfr";
inline constexpr const char* kFile = "file";
inline constexpr const char* kNetFault = "netfault";

// A registered change. Destroying it (or forget()) unregisters: say so only
// once the change is undone. Move-only.
class [[nodiscard]] Change {
 public:
  Change() = default;
  ~Change() { forget(); }
  Change(Change&& o) noexcept : id_(o.id_) { o.id_ = 0; }
  Change& operator=(Change&& o) noexcept {
    if (this != &o) {
      forget();
      id_ = o.id_;
      o.id_ = 0;
    }
    return *this;
  }
  Change(const Change&) = delete;
  Change& operator=(const Change&) = delete;

  bool active() const { return id_ != 0; }
  uint64_t id() const { return id_; }
  // Unregisters now: the change was undone (or never happened).
  void forget();
  // Lets go without unregistering: the change may still be in place (an undo
  // step failed), so the watchdog undoes it when the agent exits.
  void leave_to_watchdog() { id_ = 0; }

 private:
  friend Result<Change> register_change(const std::string&, pid_t, json);
  explicit Change(uint64_t id) : id_(id) {}
  uint64_t id_ = 0;
};

// Registers a change about to be made to pid (a tid works too; 0 for none).
// The record carries pid's start time from /proc, so the watchdog never acts
// on a reused pid. Errors: the pid is gone (not_found: there is nothing to
// change either), or the watchdog is not there (agent: then do NOT make the
// change; the hint says why).
Result<Change> register_change(const std::string& kind, pid_t pid, json args);

// The agent hands its end of the watchdog socket over once, before threads
// start; -1 means the watchdog could not be started (why says why) and every
// later registration fails with that reason.
void connect(int fd, const std::string& why = {});
bool connected();

// /proc/PID/stat field 22: clock ticks after boot. 0 when pid is gone.
uint64_t start_time(pid_t pid);

}  // namespace sonde::undo
