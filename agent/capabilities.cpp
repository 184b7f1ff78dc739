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

std::optional<long> read_int_file(const char* path) {
  auto s = read_file(path);
  if (!s) return std::nullopt;
  char* end = nullptr;
  long v = std::strtol(s->c_str(), &end, 10);
  if (end == s->c_str()) return std::nullopt;
  return v;
}

bool executable(const std::string& p) {
  struct stat sb;
  return ::stat(p.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// A JDK tool on PATH, else in the usual JVM install roots.
std::optional<std::string> find_tool(const std::string& name) {
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
  return std::nullopt;
}

}  // namespace

HelloFacts hello_facts() {
  HelloFacts h;
  h.agent_version = kSondeVersion;
  h.protocol = kProtocolVersion;
  struct utsname u;
  if (::uname(&u) == 0) {
    h.kernel = std::string(u.sysname) + " " + u.release;
    h.arch = u.machine;
    h.hostname = u.nodename;
  }
  h.pid = ::getpid();
  h.uid = ::getuid();
  h.euid = ::geteuid();
  h.gid = ::getgid();
  h.egid = ::getegid();
  h.undo_watchdog = watchdog_pid();  // 0: none, changes are refused

  unsigned long long caps = effective_caps();
  auto has = [&](int bit) { return ((caps >> bit) & 1ULL) != 0; };
  std::optional<long> yama = read_int_file("/proc/sys/kernel/yama/ptrace_scope");
  PtraceFacts& p = h.ptrace;
  p.yama_ptrace_scope = yama;
  p.cap_sys_ptrace = has(kCapSysPtrace);
  if (yama && *yama >= 3) {
    p.allowed = false;
    p.why = "Yama ptrace_scope=3: ptrace attach is disabled until reboot";
  } else if (p.cap_sys_ptrace) {
    p.allowed = true;
    p.why = "CAP_SYS_PTRACE";
  } else if (yama && *yama == 2) {
    p.allowed = false;
    p.why = "Yama ptrace_scope=2 needs CAP_SYS_PTRACE: rerun with --sudo";
  } else if (yama && *yama == 1) {
    p.allowed = true;  // our own children only, or processes that allow us
    p.why =
        "Yama ptrace_scope=1: only descendants (launch mode) or processes of this uid "
        "that allow it; rerun with --sudo to attach to others";
  } else {
    p.allowed = true;
    p.why = "processes of the same uid";
  }
  h.perf_event.paranoid = read_int_file("/proc/sys/kernel/perf_event_paranoid");
  h.perf_event.cap_perfmon = has(kCapPerfmon);
  h.perf_event.present = ::access("/proc/sys/kernel/perf_event_paranoid", F_OK) == 0;
  h.cap_net_raw = has(kCapNetRaw);
  h.cap_sys_admin = has(kCapSysAdmin);
  return h;
}

Capabilities probe_capabilities() {
  Capabilities c;
  c.facts = hello_facts();
  // Tried, not inferred: a seccomp filter refuses whatever paranoid says.
  profiler::PerfEventAccess perf = profiler::probe_perf_event();
  c.facts.perf_event.allowed = perf.allowed;
  if (!perf.allowed) c.facts.perf_event.why = perf.why;
  c.jdk_tools = {find_tool("java"), find_tool("jcmd"), find_tool("jfr")};
  c.gdbserver = find_tool("gdbserver");
  return c;
}

void register_capabilities(Registry& reg) {
  reg["capabilities"] = [](RequestContext&) -> Result<json> {
    return to_json(probe_capabilities());
  };
}

}  // namespace sonde::agent
