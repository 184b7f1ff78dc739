#include "sonde/proc/ptrace_access.h"

#include <unistd.h>

#include <cerrno>

#include "sonde/common/io.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/thread.h"
#include "sonde/proc/users.h"

namespace sonde::proc {

std::string tracer_of(pid_t pid) {
  auto st = read_status(pid);
  if (!st || st->tracer_pid <= 0) return {};
  std::string c = thread_name(st->tracer_pid, st->tracer_pid);
  return std::to_string(st->tracer_pid) + " (" + (c.empty() ? "?" : c) + ")";
}

namespace {

std::string yama_scope() {
  std::string yama;
  if (auto y = read_file("/proc/sys/kernel/yama/ptrace_scope"); y.ok()) yama = *y;
  while (!yama.empty() && yama.back() == '\n') yama.pop_back();
  return yama;
}

}  // namespace

std::string access_refused_why(pid_t pid) {
  auto st = read_status(pid);
  if (!st) return {};
  UserDb users = UserDb::load();
  auto who = [&](long long uid) { return fmt::format("{} (uid {})", users.user_name(uid), uid); };
  const long long ours = ::geteuid();
  // The kernel lets a process read or trace another only when its real,
  // effective and saved uids are all ours (or with CAP_SYS_PTRACE).
  if (st->uid[1] != ours)
    return fmt::format("it runs as {}, the agent as {}", who(st->uid[1]), who(ours));
  if (st->uid[0] != ours || st->uid[2] != ours)
    return fmt::format("it changed user (real uid {}, saved uid {}; the agent runs as {})",
                       st->uid[0], st->uid[2], who(ours));
  std::string yama = yama_scope();
  if (!yama.empty() && yama != "0")
    return fmt::format("it is not dumpable, or Yama (ptrace_scope {}) refuses", yama);
  return "it is not dumpable (a set-uid program, or one that turned dumping off)";
}

std::string access_refused_hint() {
  std::string yama = yama_scope();
  return fmt::format(
      "inspect processes of your own user, or rerun with --sudo{}",
      yama.empty() ? "" : "; check /proc/sys/kernel/yama/ptrace_scope (now " + yama + ")");
}

Error access_refused(pid_t pid, int err, std::string_view what) {
  std::string why = access_refused_why(pid);
  return Error::sys(errc::kPermission, err,
                    fmt::format("{}permission denied on pid {}{}",
                                what.empty() ? std::string() : std::string(what) + ": ", pid,
                                why.empty() ? "" : ": " + why),
                    access_refused_hint());
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
    return access_refused(tgid, e, "ptrace");
  }
  return errno_error(fmt::format("ptrace seize {}", tid), e);
}

}  // namespace sonde::proc
