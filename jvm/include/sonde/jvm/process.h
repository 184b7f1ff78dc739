// What the attach mechanism needs to know about a process before touching it:
// its ids as the JVM sees them (a container has its own pid namespace), and
// whether it is a HotSpot JVM that catches SIGQUIT. SIGQUIT's default action
// kills the process (with a core dump): it is only ever sent after
// check_hotspot() said yes.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "sonde/common/result.h"

namespace sonde::jvm {

struct ProcIds {
  pid_t pid = 0;    // in the agent's pid namespace
  pid_t nspid = 0;  // in the process's own (innermost) pid namespace
  uid_t euid = 0;
  gid_t egid = 0;
  unsigned long long sig_caught = 0;   // SigCgt
  unsigned long long sig_blocked = 0;  // SigBlk of the main thread
};

// From /proc/PID/status text. Errors when Uid/Gid lines are missing.
Result<ProcIds> parse_proc_ids(pid_t pid, std::string_view status_text);
Result<ProcIds> read_proc_ids(pid_t pid);

// /proc/PID/maps text maps a libjvm.so (HotSpot or a HotSpot-derived VM).
bool maps_have_libjvm(std::string_view maps_text);
// The path of the mapped libjvm.so, "" when none.
std::string libjvm_path(std::string_view maps_text);

// NUL-separated /proc/PID/cmdline → arguments.
std::vector<std::string> split_cmdline(std::string_view raw);

// Safe to send SIGQUIT: libjvm.so is mapped and SIGQUIT is caught (not so
// with -Xrs / -XX:+ReduceSignalUsage, where it would kill the JVM). Errors
// say which check failed and what to do instead.
Status check_hotspot(pid_t pid);

// Whether the agent and the process share a mount / pid namespace.
struct Namespaces {
  bool same_mnt = true;
  bool same_pid = true;
  bool same_net = true;
};
Namespaces compare_namespaces(pid_t pid);

}  // namespace sonde::jvm
