// The ptrace steps both the stack dump and the ptrace sampler use: seize a
// thread without stopping it, stop it briefly, copy its registers and stack,
// let it go. Errno contract: ESRCH means the thread is gone (it exited
// between our listing and our stop); callers skip it. Anything else is
// reported. ptrace attachments belong to the calling thread, so one thread
// does all of it for a given target.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <functional>
#include <string>
#include <vector>

#include "sonde/common/result.h"

namespace sonde::profiler {

enum class StopKind {
  kStopped,  // in our interrupt stop (or a group stop): registers readable
  kSignal,   // stopped for a signal it is about to receive: pass it on resume
  kGone,     // it exited
  kTimeout,  // did not stop in time (uninterruptible sleep); stop still pending
};

struct StopResult {
  StopKind kind = StopKind::kGone;
  int signal = 0;           // kSignal: the signal to deliver on resume
  bool group_stop = false;  // the process was stopped (SIGSTOP) before us: leave it so
};

// PTRACE_SEIZE (no stop). EPERM comes back with the TracerPid or ptrace_scope hint.
Status seize_thread(pid_t pid, pid_t tid);
// PTRACE_INTERRUPT and wait up to timeout_ms for the stop.
// eager: yield-poll for the stop instead of sleeping between polls (a
// one-shot dump, where the hold time matters more than our CPU).
StopResult stop_thread(pid_t tid, int timeout_ms, bool eager = false);
// Waits (up to timeout_ms) for a stop an earlier stop_thread timed out on.
StopResult wait_stop(pid_t tid, int timeout_ms, bool eager = false);
// Resumes from a stop (passing on a pending signal; a group stop stays stopped).
void resume_thread(pid_t tid, const StopResult& st);
void detach_thread(pid_t tid, const StopResult& st);

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

// The state letter of /proc/PID/task/TID/stat ('?' when gone) and the
// thread's name ("" when gone). thread_name(pid, pid) is the process's comm.
char thread_state(pid_t pid, pid_t tid);
std::string thread_name(pid_t pid, pid_t tid);

// /proc/TID/syscall for a thread in uninterruptible sleep (which ptrace cannot
// stop): syscall number, sp and pc without stopping it. false when running.
bool proc_syscall(pid_t pid, pid_t tid, long* nr, uint64_t* sp, uint64_t* pc);

}  // namespace sonde::profiler
