#include "sonde/jvm/process.h"

#include <signal.h>
#include <unistd.h>

#include "sonde/common/io.h"
#include "sonde/proc/text.h"

namespace sonde::jvm {

Result<ProcIds> parse_proc_ids(pid_t pid, std::string_view text) {
  ProcIds ids;
  ids.pid = pid;
  ids.nspid = pid;
  auto uid = proc::field_value(text, "Uid");
  auto gid = proc::field_value(text, "Gid");
  if (!uid || !gid) return Error{errc::kIo, fmt::format("/proc/{}/status has no Uid/Gid", pid), {}};
  auto u = proc::split_ws(*uid), g = proc::split_ws(*gid);
  if (u.size() < 2 || g.size() < 2)
    return Error{errc::kIo, fmt::format("/proc/{}/status: odd Uid/Gid lines", pid), {}};
  auto eu = proc::to_ll(u[1]), eg = proc::to_ll(g[1]);
  if (!eu || !eg) return Error{errc::kIo, fmt::format("/proc/{}/status: odd Uid/Gid", pid), {}};
  ids.euid = static_cast<uid_t>(*eu);
  ids.egid = static_cast<gid_t>(*eg);
  // NSpid lists the pid in every namespace from ours inwards; the last one
  // is the number the JVM knows itself by and names its files with.
  if (auto ns = proc::field_value(text, "NSpid")) {
    auto parts = proc::split_ws(*ns);
    if (!parts.empty())
      if (auto v = proc::to_ll(parts.back()); v && *v > 0) ids.nspid = static_cast<pid_t>(*v);
  }
  if (auto c = proc::field_value(text, "SigCgt"))
    ids.sig_caught = proc::to_ull(proc::trim(*c), 16).value_or(0);
  if (auto b = proc::field_value(text, "SigBlk"))
    ids.sig_blocked = proc::to_ull(proc::trim(*b), 16).value_or(0);
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
  size_t pos = 0;
  while (pos < maps.size()) {
    size_t nl = maps.find('\n', pos);
    std::string_view line = maps.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? maps.size() : nl + 1;
    size_t slash = line.find('/');
    if (slash == std::string_view::npos) continue;
    std::string_view path = line.substr(slash);
    size_t base = path.rfind('/');
    std::string_view name = path.substr(base + 1);
    if (name == "libjvm.so" || name == "libjvm.so (deleted)") return std::string(path);
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
