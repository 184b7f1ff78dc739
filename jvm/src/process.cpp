#include "sonde/jvm/process.h"

#include <signal.h>
#include <unistd.h>

#include "sonde/common/io.h"
#include "sonde/proc/maps.h"
#include "sonde/proc/stat.h"

namespace sonde::jvm {

Result<ProcIds> parse_proc_ids(pid_t pid, std::string_view text) {
  auto st = proc::parse_status(text);
  if (!st || st->uid[1] < 0 || st->gid[1] < 0)
    return Error{errc::kIo, fmt::format("/proc/{}/status has no Uid/Gid", pid), {}};
  ProcIds ids;
  ids.pid = pid;
  ids.nspid = pid;
  ids.euid = static_cast<uid_t>(st->uid[1]);
  ids.egid = static_cast<gid_t>(st->gid[1]);
  // NSpid lists the pid in every namespace from ours inwards; the last one
  // is the number the JVM knows itself by and names its files with.
  if (!st->nspid.empty() && st->nspid.back() > 0) ids.nspid = static_cast<pid_t>(st->nspid.back());
  ids.sig_caught = st->sig_caught;
  ids.sig_blocked = st->sig_blocked;
  return ids;
}

Result<ProcIds> read_proc_ids(pid_t pid) {
  auto st = read_file(fmt::format("/proc/{}/status", pid));
  if (!st) {
    if (st.error().sys_errno == ENOENT || st.error().sys_errno == ESRCH)
      return Error{errc::kNotFound, fmt::format("no process {}", pid),
                   "list JVMs with `sonde jvm list TARGET`"};
    return st.error();
  }
  return parse_proc_ids(pid, *st);
}

std::string libjvm_path(std::string_view maps) {
  for (const auto& m : proc::parse_maps(maps)) {
    size_t base = m.path.rfind('/');
    if (base == std::string::npos || m.path.compare(base + 1, std::string::npos, "libjvm.so") != 0)
      continue;
    return m.deleted ? m.path + " (deleted)" : m.path;
  }
  return "";
}

bool maps_have_libjvm(std::string_view maps) {
  return !libjvm_path(maps).empty();
}

std::vector<std::string> split_cmdline(std::string_view raw) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t z = raw.find('\0', pos);
    if (z == std::string_view::npos) z = raw.size();
    out.emplace_back(raw.substr(pos, z - pos));
    pos = z + 1;
  }
  return out;
}

Status check_hotspot(pid_t pid) {
  auto maps = read_file(fmt::format("/proc/{}/maps", pid), 64u << 20);
  if (!maps) {
    int e = maps.error().sys_errno;
    if (e == ENOENT || e == ESRCH)
      return Error{errc::kNotFound, fmt::format("no process {}", pid),
                   "list JVMs with `sonde jvm list TARGET`"};
    return Error::sys(errc::kPermission, e,
                      fmt::format("cannot read /proc/{}/maps to check that pid {} is a JVM ({})",
                                  pid, pid, std::strerror(e)),
                      "sonde signals only processes it has checked are HotSpot JVMs: run the "
                      "agent as the JVM's user or with --sudo");
  }
  if (!maps_have_libjvm(*maps))
    return Error{errc::kNotFound,
                 fmt::format("pid {} is not a HotSpot JVM (no libjvm.so mapped)", pid),
                 "list JVMs with `sonde jvm list TARGET`; sonde never sends SIGQUIT to other "
                 "processes (it would kill them)"};
  auto ids = read_proc_ids(pid);
  if (!ids) return ids.error();
  if (!(ids->sig_caught & (1ull << (SIGQUIT - 1))))
    return Error{errc::kPermission,
                 fmt::format("JVM {} does not handle SIGQUIT (started with -Xrs or "
                             "-XX:+ReduceSignalUsage?): attaching would kill it",
                             pid),
                 "this JVM cannot be attached to at runtime; restart it without -Xrs"};
  return ok_status();
}

Namespaces compare_namespaces(pid_t pid) {
  Namespaces n;
  auto same = [&](const char* ns) {
    auto a = read_link(fmt::format("/proc/{}/ns/{}", pid, ns));
    auto b = read_link(fmt::format("/proc/self/ns/{}", ns));
    return !a || !b || *a == *b;  // unreadable: assume shared
  };
  n.same_mnt = same("mnt");
  n.same_pid = same("pid");
  n.same_net = same("net");
  return n;
}

}  // namespace sonde::jvm
