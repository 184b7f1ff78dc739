// Why ptrace could not attach, or /proc/PID could not be read, said with the
// next step: shared by trace, profile, stack and inspect, so that a refusal
// reads the same in each.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "sonde/common/result.h"

namespace sonde::proc {

// "4242 (gdb)" when pid is being traced, "" otherwise.
std::string tracer_of(pid_t pid);

// Why this process may not read or trace pid (both need the same access):
// "it runs as root (uid 0), the agent as nobody (uid 65534)" for another
// user's; a set-uid program; else not dumpable, or Yama. "" when pid is gone.
std::string access_refused_why(pid_t pid);
// The next step: your own user's processes, or --sudo (and the Yama scope
// when the kernel has one).
std::string access_refused_hint();
// errc::kPermission "WHAT: permission denied on pid N: WHY" with that hint
// and err: the one message for a refused process (WHAT "ptrace", or none).
Error access_refused(pid_t pid, int err, std::string_view what);

// The Error for a failed PTRACE_SEIZE/ATTACH of tid (in process tgid) with
// errno err: no such process, already traced by X, or permission with the
// ptrace_scope hint (access_refused).
Error ptrace_attach_error(pid_t tgid, pid_t tid, int err);

}  // namespace sonde::proc
