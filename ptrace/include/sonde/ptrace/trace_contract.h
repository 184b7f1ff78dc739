// The `trace` op's contract: the args the controller sends and the summary
// the agent answers with, as structs with one JSON form each. Both sides
// use these: the command builds TraceArgs and reads TraceResult, the
// handler reads TraceArgs and builds TraceResult; validate() is the one
// place that knows what a well-formed request is. Live events are not here:
// they are the tracer's own stream (tracer.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::ptrace {

inline constexpr long kMaxStringLimit = 1 << 20;
inline constexpr long kMaxTraceDurationMs = 7L * 24 * 3600 * 1000;

struct TraceArgs {
  std::vector<int> pids;          // attach (-p); exclusive with argv
  std::vector<std::string> argv;  // launch (-- CMD ARGS)
  bool follow_forks = false;      // -f
  std::string filter;             // -e trace= expression, "" = all
  bool failed_only = false;       // -e status=failed
  bool summary_only = false;      // -c
  long string_limit = 32;         // -s
  bool annotate_fds = false;      // -y
  long duration_ms = 0;           // 0 = until cancelled or the tracees are gone
  bool seccomp = true;            // launch + filter: filter in the kernel
  bool colocate = false;          // --colocate
  bool structured = true;         // per-argument JSON in events (for --json)
  // sonde inject: the rules, each "inject=RULE" or "fault=RULE" as on the
  // command line (the agent parses them against its syscall table).
  std::vector<std::string> inject;
  double probability = 1.0;   // --probability
  uint64_t inject_count = 0;  // --count (0: no limit)
  uint64_t seed = 0;          // --seed for --probability (0: from the clock)
  bool force = false;         // --force: PID 1 too
  bool plan = false;          // --plan: check and describe, attach to nothing
};

inline constexpr long kMaxInjectDurationMs = 10L * 60 * 1000;

json to_json(const TraceArgs& a);
// Wrong types are errc::kBadArgs naming the field; missing fields keep
// their defaults.
Result<TraceArgs> trace_args_from_json(const json& j);
// Ranges and conflicts (attach xor launch, pids, -s, duration), as
// errc::kBadArgs with a hint in the command line's terms. The filter's
// syscall names are checked by the agent, against its own syscall table.
Status validate(const TraceArgs& a);

// One row of a `strace -c` table.
struct SyscallCount {
  std::string name;
  long nr = -1;
  uint64_t calls = 0;
  uint64_t errors = 0;
  uint64_t time_ns = 0;
};

struct SyscallTotal {
  uint64_t calls = 0;
  uint64_t errors = 0;
  uint64_t time_ns = 0;
};

struct ProcessCounts {
  int pid = 0;
  std::vector<SyscallCount> syscalls;  // sorted by time, descending
  SyscallTotal total;
};

struct TraceResult {
  std::string mode;  // attach | launch
  uint64_t duration_ms = 0;
  std::vector<SyscallCount> syscalls;  // over every process
  SyscallTotal total;
  std::vector<ProcessCounts> per_process;
  uint64_t per_process_more = 0;  // processes left out of per_process
  bool seccomp = false;
  std::string stopped;           // exited | duration | cancelled
  std::optional<int> exit_code;  // launch: the command's exit status
  std::string killed_by;         // launch: the signal that killed it
  std::vector<std::string> notes;
  uint64_t events_lost = 0;  // live events dropped on a slow link
  bool cancelled = false;
  // sonde inject: per syscall, what was injected (first/last: the agent's
  // CLOCK_REALTIME, ns); empty otherwise. plan: the rules in words and the
  // process they would apply to (nothing was attached).
  struct Injected {
    std::string name;
    long nr = -1;
    uint64_t count = 0;
    int64_t first_ns = 0, last_ns = 0;
  };
  bool injecting = false;  // a sonde inject run (then "injected" is sent, even empty)
  std::vector<Injected> injected;
  uint64_t injected_total = 0;
  std::vector<std::string> plan;
};

json to_json(const TraceResult& r);
// Strict: a field of the wrong type or out of range is errc::kProtocol
// naming it. `what` starts the message ("malformed `trace` result from the
// agent").
Result<TraceResult> trace_result_from_json(const json& j);

// Keeps the busiest processes (by syscall time) within the wire budget and
// counts the rest in per_process_more; caps the notes. The all-process
// table still counts every call.
void cap_trace_result(TraceResult& r);

}  // namespace sonde::ptrace
