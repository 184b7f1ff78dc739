// A trace event as a plain struct: what the tracer thread fills in a slot of
// a preallocated ring (event_ring.h), without building JSON or allocating
// per event. The sender thread turns a batch of them into the wire format.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "sonde/common/frame.h"

namespace sonde::ptrace {

struct TraceEvent {
  enum class Type : uint8_t { kSyscall, kSignal, kExit, kKilled, kAttached, kDetached };
  // A syscall shown in one line, or in two (strace's "<unfinished ...>" at
  // its entry and "<... NAME resumed>" at its exit) when it blocked or lines
  // of other threads came between.
  enum class Part : uint8_t { kWhole, kUnfinished, kResumed };
  Type type = Type::kSyscall;
  pid_t pid = 0;
  // CLOCK_REALTIME; for a syscall, at its entry (a resumed part: its exit)
  int64_t ts_ns = 0;
  // kSyscall
  long nr = -1;
  Part part = Part::kWhole;
  bool returned = true;  // false: exit/exit_group, shown with strace's "= ?"
  int64_t ret = 0;
  int64_t dur_ns = 0;
  bool injected = false;  // sonde inject changed this call
  std::string args_text;  // slot strings keep their capacity from event to event
  std::string ret_text;
  json args;  // structured decode only (null otherwise)
  // kSignal, kKilled
  int sig = 0;
  bool group_stop = false;
  // kExit
  int code = 0;
  // kAttached
  uint64_t tids = 0;

  // Ready for a new event of this type; strings emptied, capacity kept.
  void reset(Type t, pid_t p);
  // An upper bound of its size on the wire (its strings plus a constant).
  size_t wire_size() const;
};

// The wire and --json form (moves `args` out):
//   {"type":"syscall","pid":P,"name":"openat","nr":257,"args":[...]?,"args_text":"...",
//    "ret":3|null,"ret_text":"3","errno":"ENOENT"?,"ts_ns":T,"dur_ns":N,
//    "injected":true?, "unfinished":true? (entry only: no ret, dur_ns 0),
//    "resumed":true? (the rest of an unfinished call; ts_ns is its exit)}
//   {"type":"signal","pid":P,"sig":"SIGCHLD","group_stop":true?,"ts_ns":T}
//   {"type":"exit","pid":P,"code":0,"ts_ns":T} /
//   {"type":"killed","pid":P,"sig":"SIGKILL","ts_ns":T}
//   {"type":"attached","pid":P,"tids":N,"ts_ns":T} / {"type":"detached","pid":P,"ts_ns":T}
json to_json(TraceEvent& ev);

}  // namespace sonde::ptrace
