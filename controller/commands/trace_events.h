// The `trace` op's live events as trace and inject read them: each event
// message checked (phase messages go to the log), then every event handed
// over with its type, pid and thread count read.
#pragma once

#include <functional>
#include <string>

#include "../cli/command.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/ptrace/trace_contract.h"

#include <cstdio>

namespace sonde::controller {

class Session;

struct TraceEventView {
  const json& ev;
  std::string type;
  long long pid = 0, tids = 0;
};

// `who` names the command in the log ("trace", "inject").
Status for_each_trace_event(const json& data, const char* who,
                            const std::function<void(const TraceEventView&)>& each);

// Runs the `trace` op with these args, events to on_event, and reads its
// result; the agent's notes go to err as "sonde: note: ...".
Result<ptrace::TraceResult> run_trace_op(Session& s, const ptrace::TraceArgs& args,
                                         const std::function<Status(const json&)>& on_event,
                                         FILE* err);

// strace's notes on attach and detach ("Process 12 attached with 3 threads"),
// for stderr.
std::string attach_note(const TraceEventView& v);

// launched_exit_code (cli/command.h) of a trace or inject run.
inline int traced_exit_code(const ptrace::TraceResult& sum) {
  return launched_exit_code(sum.cancelled, sum.exit_code, sum.killed_by);
}

}  // namespace sonde::controller
