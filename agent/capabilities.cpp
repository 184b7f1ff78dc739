#include "capabilities.h"
#include "watchdog.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "sonde/common/io.h"
#include "sonde/common/protocol.h"
#include "sonde/profiler/perf_probe.h"

namespace sonde::agent {
namespace {

// Capability bits from linux/capability.h.
constexpr int kCapNetRaw = 13;
constexpr int kCapSysPtrace = 19;
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;

unsigned long long effective_caps() {
  auto st = read_file("/proc/self/status");
  if (!st) return 0;
  std::istringstream in(*st);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 16);
  }
  return 0;
}

json read_int_file(const char* path) {
  auto s = read_file(path);
  if (!s) return nullptr;
  char* end = nullptr;
  long v = std::strtol(s->c_str(), &end, 10);
  if (end == s->c_str()) return nullptr;
  return v;
}

bool executable(const std::string& p) {
  struct stat sb;
  return ::stat(p.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// A JDK tool on PATH, else in the usual JVM install roots.
json find_tool(const std::string& name) {
  if (auto p = find_in_path(name)) return *p;
  if (const char* jh = std::getenv("JAVA_HOME"); jh && executable(std::string(jh) + "/bin/" + name))
    return std::string(jh) + "/bin/" + name;
  std::error_code ec;
  for (const char* root : {"/usr/lib/jvm", "/opt/java", "/usr/java"}) {
    for (auto it = std::filesystem::directory_iterator(root, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      std::string p = it->path().string() + "/bin/" + name;
      if (executable(p)) return p;
    }
  }
  return nullptr;
}

}  // namespace

json hello_facts() {
  json h;
  h["agent_version"] = kSondeVersion;
  h["protocol"] = kProtocolVersion;
  struct utsname u;
  if (::uname(&u) == 0) {
    h["kernel"] = std::string(u.sysname) + " " + u.release;
    h["arch"] = u.machine;
    h["hostname"] = u.nodename;
  }
  h["pid"] = ::getpid();
  h["uid"] = ::getuid();
  h["euid"] = ::geteuid();
  h["gid"] = ::getgid();
  h["egid"] = ::getegid();
  h["undo_watchdog"] = watchdog_pid();  // 0: none, changes are refused

  unsigned long long caps = effective_caps();
  auto has = [&](int bit) { return (caps >> bit) & 1ULL; };
  json yama = read_int_file("/proc/sys/kernel/yama/ptrace_scope");
  bool ptrace_ok;
  std::string ptrace_why;
  if (yama.is_number() && yama.get<long>() >= 3) {
    ptrace_ok = false;
    ptrace_why = "Yama ptrace_scope=3: ptrace attach is disabled until reboot";
  } else if (has(kCapSysPtrace)) {
    ptrace_ok = true;
    ptrace_why = "CAP_SYS_PTRACE";
  } else if (yama.is_number() && yama.get<long>() == 2) {
    ptrace_ok = false;
    ptrace_why = "Yama ptrace_scope=2 needs CAP_SYS_PTRACE: rerun with --sudo";
  } else if (yama.is_number() && yama.get<long>() == 1) {
    ptrace_ok = true;  // our own children only, or processes that allow us
    ptrace_why =
        "Yama ptrace_scope=1: only descendants (launch mode) or processes of this uid "
        "that allow it; rerun with --sudo to attach to others";
  } else {
    ptrace_ok = true;
    ptrace_why = "processes of the same uid";
  }
  h["ptrace"] = {{"allowed", ptrace_ok},
                 {"yama_ptrace_scope", yama},
                 {"cap_sys_ptrace", has(kCapSysPtrace) != 0},
                 {"why", ptrace_why}};
  h["perf_event"] = {{"paranoid", read_int_file("/proc/sys/kernel/perf_event_paranoid")},
                     {"cap_perfmon", has(kCapPerfmon) != 0},
                     {"present", ::access("/proc/sys/kernel/perf_event_paranoid", F_OK) == 0}};
  h["cap_net_raw"] = has(kCapNetRaw) != 0;
  h["cap_sys_admin"] = has(kCapSysAdmin) != 0;
  return h;
}

json probe_capabilities() {
  json h = hello_facts();
  // Tried, not inferred: a seccomp filter refuses whatever paranoid says.
  profiler::PerfEventAccess perf = profiler::probe_perf_event();
  h["perf_event"]["allowed"] = perf.allowed;
  if (!perf.allowed) h["perf_event"]["why"] = perf.why;
  h["jdk_tools"] = {
      {"java", find_tool("java")}, {"jcmd", find_tool("jcmd")}, {"jfr", find_tool("jfr")}};
  h["gdbserver"] = find_tool("gdbserver");
  return h;
}

void register_capabilities(Registry& reg) {
  reg["capabilities"] = [](RequestContext&) -> Result<json> { return probe_capabilities(); };
}

}  // namespace sonde::agent
