// Why ptrace could not attach, said with the next step: shared by the syscall
// tracer and the profiler, which attach the same way.
#pragma once

#include <sys/types.h>

#include <string>

#include "sonde/common/result.h"

namespace sonde::proc {

// "4242 (gdb)" when pid is being traced, "" otherwise.
std::string tracer_of(pid_t pid);

// The Error for a failed PTRACE_SEIZE/ATTACH of tid (in process tgid) with
// errno err: no such process, already traced by X, or permission with the
// ptrace_scope hint. `what` names the operation ("trace", "profile").
Error ptrace_attach_error(pid_t tgid, pid_t tid, int err);

}  // namespace sonde::proc
