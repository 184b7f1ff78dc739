// Per-thread /proc readers the ptrace users need: a thread's state and name
// (/proc/PID/task/TID/stat) and the syscall it sleeps in (.../syscall).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace sonde::proc {

// The state letter of /proc/PID/task/TID/stat ('?' when gone).
char thread_state(pid_t pid, pid_t tid);
// The thread's name ("" when gone). thread_name(pid, pid) is the process's comm.
std::string thread_name(pid_t pid, pid_t tid);

// /proc/PID/task/TID/syscall for a thread in uninterruptible sleep (which
// ptrace cannot stop): syscall number, sp and pc without stopping it. false
// when it is running or gone.
bool thread_syscall(pid_t pid, pid_t tid, long* nr, uint64_t* sp, uint64_t* pc);

}  // namespace sonde::proc
