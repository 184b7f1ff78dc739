#include "sonde/proc/ptrace_access.h"

#include <cerrno>

#include "sonde/common/io.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/thread.h"

namespace sonde::proc {

std::string tracer_of(pid_t pid) {
  auto st = read_status(pid);
  if (!st || st->tracer_pid <= 0) return {};
  std::string c = thread_name(st->tracer_pid, st->tracer_pid);
  return std::to_string(st->tracer_pid) + " (" + (c.empty() ? "?" : c) + ")";
}

Error ptrace_attach_error(pid_t tgid, pid_t tid, int e) {
  if (e == ESRCH)
    return Error{errc::kNotFound, fmt::format("no process {}", tgid),
                 "list processes with `sonde ps TARGET`"};
  if (e == EPERM) {
    std::string by = tracer_of(tgid);
    if (!by.empty())
      return Error::sys(errc::kPermission, e,
                        fmt::format("pid {} is already traced by {}", tgid, by),
                        "a process has one tracer at a time: stop the other strace/gdb/sonde "
                        "first");
    std::string yama;
    if (auto y = read_file("/proc/sys/kernel/yama/ptrace_scope"); y.ok()) yama = *y;
    while (!yama.empty() && yama.back() == '\n') yama.pop_back();
    return Error::sys(
        errc::kPermission, e, fmt::format("ptrace: permission denied on pid {}", tgid),
        fmt::format(
            "inspect processes of your own user, or rerun with --sudo{}",
            yama.empty() ? "" : "; check /proc/sys/kernel/yama/ptrace_scope (now " + yama + ")"));
  }
  return errno_error(fmt::format("ptrace seize {}", tid), e);
}

}  // namespace sonde::proc
