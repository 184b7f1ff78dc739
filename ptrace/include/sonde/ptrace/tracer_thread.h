// The thread that owns a set of ptrace attachments.
#pragma once

#include <functional>

#include "sonde/common/result.h"

namespace sonde::ptrace {

// Runs fn on a thread of its own and waits for it to end. Every seize,
// stop and detach for one target goes in fn. Why: PTRACE_DETACH works only
// on a tracee in a ptrace-stop, so a thread we interrupted whose stop did
// not come in time (uninterruptible sleep, a vfork parent) cannot be
// detached. Its stop stays pending, and when its sleep ends it would stop
// with nobody left to resume it. The one way to let it go at once is the
// tracer thread's exit: the kernel then unlinks every tracee of that thread
// and cancels their pending traps (exit_ptrace), stopped or not.
// An error when no thread can be started; an exception in fn is rethrown.
Status run_on_tracer_thread(const std::function<Status()>& fn);

}  // namespace sonde::ptrace
