// Text rendering for `trace`: strace-like lines for the tracer's events
// (shapes in sonde/ptrace/tracer.h) and the `strace -c` table for its
// summary (TraceResult, trace_contract.h).
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/ptrace/trace_contract.h"

namespace sonde::render {

struct TraceLineOptions {
  int timestamps = 0;       // 0 none, 1 -t (HH:MM:SS), 2 -tt (+ .micro), 3 -ttt (epoch.micro)
  bool durations = false;   // -T: " <0.000123>" after the return value
  bool always_pid = false;  // -f or several -p: "[pid  N] " from the first line
};

// Turns events into lines. Like strace, the "[pid N] " prefix also appears
// once a second process shows up, even without -f.
class TraceLinePrinter {
 public:
  explicit TraceLinePrinter(TraceLineOptions o) : o_(o) {}

  // The line for one event with its '\n', or "" for events that print nothing
  // (attached, detached, unknown types). An attach to a process with several
  // threads turns on "[pid N] " for every line after it.
  std::string line(const sonde::json& ev);

  // How many exit / killed lines were printed.
  size_t exits_printed() const { return exits_; }

 private:
  std::string leader(const sonde::json& ev);

  TraceLineOptions o_;
  std::set<long long> pids_;
  size_t exits_ = 0;
  // The call and arguments an "<unfinished ...>" line showed, by pid: its
  // resumed line shows only what follows them, as strace does.
  std::map<long long, std::pair<long long, std::string>> unfinished_;
};

// Local time of a CLOCK_REALTIME nanosecond stamp as -t/-tt/-ttt print it.
std::string format_trace_time(long long ts_ns, int level);

// One `strace -c` table: header, rows sorted by time, dashes, total line.
std::string render_trace_table(const std::vector<ptrace::SyscallCount>& syscalls,
                               const ptrace::SyscallTotal& total);

// The whole -c output: the table summed over all processes, as strace -c -f
// prints it; with per_process, when more than one process was traced, one
// table per process after it under "pid N:".
std::string render_trace_summary(const ptrace::TraceResult& summary, bool per_process = false);

}  // namespace sonde::render
