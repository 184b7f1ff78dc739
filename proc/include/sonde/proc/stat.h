// /proc/PID/stat and /proc/PID/status: the per-process numbers ps and inspect
// start from.
#pragma once

#include <sys/types.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "sonde/common/result.h"

namespace sonde::proc {

// PF_KTHREAD from the kernel's sched.h: the flag that marks kernel threads.
inline constexpr unsigned long kPfKthread = 0x00200000;

// The fields of /proc/PID/stat we use. Times are clock ticks (sysconf(_SC_CLK_TCK)).
struct StatInfo {
  int pid = 0;
  std::string comm;
  char state = '?';
  int ppid = 0;
  unsigned long flags = 0;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  long long num_threads = 0;
  unsigned long long starttime = 0;  // ticks after boot
  unsigned long long vsize = 0;      // bytes
  long long rss_pages = 0;
};

// Parses one stat line. Errors (never aborts) on truncated or garbage input.
Result<StatInfo> parse_stat(std::string_view line);

// Reads and parses /proc/PID/stat or /proc/PID/task/TID/stat.
Result<StatInfo> read_stat(const std::string& path);

// The parts of /proc/PID/status that stat does not carry.
struct StatusInfo {
  std::string name;
  int tgid = 0;
  int tracer_pid = 0;                            // TracerPid: who ptraces it, 0 for nobody
  std::array<long long, 4> uid{-1, -1, -1, -1};  // real, effective, saved, fs
  std::array<long long, 4> gid{-1, -1, -1, -1};
  // NSpid: the pid in each pid namespace, ours first, the process's own last.
  std::vector<long long> nspid;
  unsigned long long sig_caught = 0;   // SigCgt mask: bit N-1 for signal N
  unsigned long long sig_blocked = 0;  // SigBlk
  int seccomp = -1;                    // 0 off, 1 strict, 2 filter; -1 not shown
};

// Missing lines leave the defaults; it is an error only if nothing parses.
Result<StatusInfo> parse_status(std::string_view text);
// Reads and parses /proc/PID/status (a thread id works too: /proc/TID/status).
Result<StatusInfo> read_status(pid_t pid);

// The thread ids under /proc/PID/task, sorted; empty when the process is gone.
std::vector<pid_t> list_tids(pid_t pid);

// "sleeping" for 'S', like ps(1) and the kernel's task_state_array.
const char* state_name(char state);

}  // namespace sonde::proc
