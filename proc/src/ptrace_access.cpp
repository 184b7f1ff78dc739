#include "sonde/proc/ptrace_access.h"

#include <cerrno>
#include <cstdlib>

#include "sonde/common/io.h"

namespace sonde::proc {

std::string tracer_of(pid_t pid) {
  auto st = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!st.ok()) return {};
  auto p = st->find("TracerPid:");
  if (p == std::string::npos) return {};
  long tracer = std::strtol(st->c_str() + p + 10, nullptr, 10);
  if (tracer <= 0) return {};
  auto comm = read_file("/proc/" + std::to_string(tracer) + "/comm");
  std::string c = comm.ok() ? *comm : "?";
  while (!c.empty() && c.back() == '\n') c.pop_back();
  return std::to_string(tracer) + " (" + c + ")";
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
