// The syscall tracer: attach to running processes (PTRACE_SEIZE, all their
// threads) or launch a command, follow threads and (with follow_forks)
// children, and report each syscall as an event or only count them (-c).
//
// Safety: attached processes are never killed by us (no PTRACE_O_EXITKILL);
// on every exit path (duration over, cancel, error) each tracee is detached
// and left running, with any signal we were holding re-injected. Launched
// children get EXITKILL: they die with the tracer, like under strace.
#pragma once

#include <string>
#include <vector>

#include "sonde/common/cancel.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/ptrace/event_ring.h"
#include "sonde/ptrace/inject.h"
#include "sonde/ptrace/syscalls.h"

namespace sonde::ptrace {

struct TraceOptions {
  std::vector<int> attach_pids;          // -p (several allowed)
  std::vector<std::string> launch_argv;  // -- CMD ARGS (exclusive with attach_pids)
  bool follow_forks = false;   // -f; forced on for launch (inject changes children only with -f)
  std::vector<bool> syscalls;  // which syscalls to report; empty = all
  bool failed_only = false;    // -e status=failed
  bool summary_only = false;   // -c: count, decode nothing, send no events
  DecodeOptions decode;        // -s, -y
  long duration_ms = 0;        // 0 = until cancelled or every tracee is gone
  bool use_seccomp = true;     // launch + filter: only filtered syscalls stop
  // Run the tracer on the CPU of the tracee and pin the tracee there, so a
  // ptrace stop is a cheap same-CPU switch (~2 us) instead of a cross-CPU
  // wakeup (~35 us on these VMs). It confines the traced threads to one
  // CPU while tracing, so it is opt-in; their original affinity is restored
  // on every exit path we control.
  bool colocate = false;
  // Faults to inject (sonde inject): their syscalls are traced (and, in
  // launch mode, the only ones the seccomp filter stops) and shown only
  // when a rule fired, unless `syscalls` asks for more.
  std::vector<InjectRule> inject;
  double inject_probability = 1.0;  // --probability: each firing is kept with this chance
  uint64_t inject_limit = 0;        // --count: stop injecting after this many (0: no limit)
  uint64_t inject_seed = 0;         // for --probability (0: from the clock)
};

// Events go into `events` as plain structs (event.h gives their JSON, the
// wire and --json format); nullptr or summary_only: none are made. The
// tracer thread only fills ring slots: it never blocks on the reader, and
// an event that finds the ring full is dropped and counted (events->lost()).
// Runs until cancel, the duration, or no tracee left. Returns the summary:
//   {"mode":"attach"|"launch","duration_ms":D,
//    "syscalls":[{"name":"read","calls":N,"errors":E,"time_ns":T}]  (sorted by time desc),
//    "total":{"calls":N,"errors":E,"time_ns":T},
//    "per_process":[{"pid":P,"syscalls":[...],"total":{...}}],
//    "exit_code":C?  (launch: the command's status), "notes":[...],
//    "seccomp":true|false,
//    "injected":[{"name":"openat","nr":257,"count":N,"first_ns":T,"last_ns":T}]
//      (with inject rules; first/last on the agent's CLOCK_REALTIME),
//    "injected_total":N}
// Errors: attach to a missing pid → not_found; EPERM → permission with a hint
// (ptrace_scope, --sudo); a process already traced → permission naming the tracer.
Result<json> trace(const TraceOptions& opts, CancelToken& cancel, EventRing* events);

// Builds the syscall set from a strace -e trace= expression: names, %classes,
// `!` negation, comma-separated ("open,openat", "%network", "!%memory").
Result<std::vector<bool>> parse_trace_filter(std::string_view expr);

}  // namespace sonde::ptrace
