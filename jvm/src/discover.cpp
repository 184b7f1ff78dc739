#include "sonde/jvm/discover.h"

#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "sonde/common/io.h"
#include "sonde/common/untrusted.h"
#include "sonde/jvm/attach.h"
#include "sonde/jvm/hsperf.h"
#include "sonde/jvm/options.h"
#include "sonde/jvm/process.h"
#include "sonde/proc/fds.h"
#include "sonde/proc/sockets.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/system.h"
#include "sonde/proc/text.h"
#include "sonde/proc/users.h"

namespace sonde::jvm {
namespace {

std::string basename_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

std::string dirname_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos || s == 0 ? "/" : p.substr(0, s);
}

// JAVA_VERSION="17.0.15" from JAVA_HOME/release.
std::string release_version(pid_t pid, const std::string& libjvm) {
  if (libjvm.empty()) return "";
  // JAVA_HOME/lib/server/libjvm.so
  std::string home = dirname_of(dirname_of(dirname_of(libjvm)));
  // Through the JVM's root, which its user may control: no symlink, no FIFO.
  auto text = read_untrusted_file(fmt::format("/proc/{}/root{}/release", pid, home), 64 << 10);
  if (!text) return "";
  auto v = proc::field_value(*text, "JAVA_VERSION");
  if (!v) {
    size_t at = text->find("JAVA_VERSION=");
    if (at == std::string::npos) return "";
    size_t end = text->find('\n', at);
    std::string s = text->substr(at + 13, end == std::string::npos ? end : end - at - 13);
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return s;
  }
  return std::string(*v);
}

std::string env_value(const std::string& environ_raw, const std::string& key) {
  for (const auto& kv : split_cmdline(environ_raw))
    if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=')
      return kv.substr(key.size() + 1);
  return "";
}

struct Candidate {
  pid_t pid;
  bool verified;  // libjvm.so seen in its maps
  std::string libjvm;
};

// A JVM: libjvm.so mapped; where maps are unreadable, a `java` launcher.
std::optional<Candidate> jvm_candidate(pid_t pid) {
  auto maps = read_file(fmt::format("/proc/{}/maps", pid), 64u << 20);
  if (maps) {
    std::string lib = libjvm_path(*maps);
    if (lib.empty()) return std::nullopt;
    return Candidate{pid, true, lib};
  }
  auto exe = read_link(fmt::format("/proc/{}/exe", pid));
  std::string name;
  if (exe) {
    name = basename_of(*exe);
  } else if (auto cmd = read_file(fmt::format("/proc/{}/cmdline", pid), 4096)) {
    auto argv = split_cmdline(*cmd);
    if (!argv.empty()) name = basename_of(argv[0]);
  }
  if (name == "java") return Candidate{pid, false, ""};
  return std::nullopt;
}

JvmInfo describe(const Candidate& c, const proc::SystemInfo& sys, const proc::UserDb& users,
                 std::vector<std::string>& notes) {
  const pid_t pid = c.pid;
  JvmInfo j;
  j.pid = pid;
  j.hotspot = c.verified;
  auto ids = read_proc_ids(pid);
  if (ids) {
    j.nspid = ids->nspid;
    j.uid = ids->euid;
    j.user = users.user_name(ids->euid);
  }
  auto raw = read_file(fmt::format("/proc/{}/cmdline", pid), 1u << 20);
  std::vector<std::string> argv = raw ? split_cmdline(*raw) : std::vector<std::string>{};
  std::string command;
  for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
  j.command = proc::utf8_safe(command.size() > 4096 ? command.substr(0, 4096) : command);

  JvmOptions parsed = parse_java_command_line(argv);
  // Options from the environment come first; the command line overrides them.
  JvmOptions o;
  if (auto env = read_file(fmt::format("/proc/{}/environ", pid), 1u << 20)) {
    apply_jvm_option_string(o, env_value(*env, "JAVA_TOOL_OPTIONS"));
    apply_jvm_option_string(o, env_value(*env, "JDK_JAVA_OPTIONS"));
  }
  for (const auto& a : parsed.jvm_args) apply_jvm_option(o, a);
  o.main = parsed.main;
  o.main_kind = parsed.main_kind;

  PerfData perf;
  if (ids) {
    std::vector<std::string> skipped;
    if (auto p = read_hsperfdata(pid, ids->nspid, ids->euid, &skipped)) perf = std::move(*p);
    for (auto& n : skipped) notes.push_back(proc::utf8_safe(n));
  }
  if (o.main.empty()) {
    if (auto cmd = perf_string(perf, "sun.rt.javaCommand"); cmd && !cmd->empty()) {
      o.main = cmd->substr(0, cmd->find(' '));
      o.main_kind =
          o.main.size() > 4 && o.main.substr(o.main.size() - 4) == ".jar" ? "jar" : "class";
    }
  }
  j.main = proc::utf8_safe(o.main);
  j.main_kind = o.main_kind;
  std::string version = perf_string(perf, "java.property.java.version").value_or("");
  if (version.empty()) version = release_version(pid, c.libjvm);
  j.java_version = version;
  j.vm_name = perf_string(perf, "java.property.java.vm.name").value_or("");
  j.hsperfdata = !perf.empty();

  if (auto st = proc::read_stat(fmt::format("/proc/{}/stat", pid))) {
    double started = static_cast<double>(st->starttime) / static_cast<double>(sys.clk_tck);
    j.uptime_s = std::max(0.0, sys.uptime_s - started);
    j.start_epoch = proc::start_epoch(sys, st->starttime);
  }

  j.heap.max = o.xmx;
  j.heap.initial = o.xms;
  j.heap.max_bytes = o.max_heap_bytes;
  j.heap.initial_bytes = o.initial_heap_bytes;
  long long committed = 0, limit = 0, used = 0;
  bool have_gen = false;
  // The counters come from a file the JVM's user writes: a sum that would
  // overflow stays at the last value that did not.
  auto add = [](long long& sum, long long v) {
    long long r;
    if (!__builtin_add_overflow(sum, v, &r)) sum = r;
  };
  for (int g = 0; g < 3; ++g) {
    std::string base = fmt::format("sun.gc.generation.{}.", g);
    if (auto v = perf_number(perf, base + "capacity")) add(committed, *v), have_gen = true;
    if (auto v = perf_number(perf, base + "maxCapacity")) add(limit, *v);
    for (int s = 0; s < 4; ++s)
      if (auto v = perf_number(perf, fmt::format("{}space.{}.used", base, s))) add(used, *v);
  }
  if (have_gen) {
    j.heap.committed_bytes = committed;
    j.heap.limit_bytes = limit;
    j.heap.used_bytes = used;
  }

  j.listening = listening_tcp(pid);
  std::set<int> ports;
  for (const auto& l : j.listening) ports.insert(l.port);
  j.jdwp = o.jdwp;
  if (j.jdwp) j.jdwp->listening = j.jdwp->server && j.jdwp->port > 0 && ports.count(j.jdwp->port);
  j.jmx = o.jmx;
  j.jmx.listening = j.jmx.port > 0 && ports.count(j.jmx.port) > 0;

  Namespaces ns = compare_namespaces(pid);
  j.container = {ns.same_mnt, ns.same_pid, ns.same_net, !ns.same_mnt || !ns.same_pid};
  // Only the JVM's own socket counts; one another user planted is noted.
  bool sock_ok = false;
  if (ids) {
    auto sock = check_attach_socket(attach_socket_path(pid, ids->nspid), ids->euid);
    sock_ok = sock.ok();
    if (!sock_ok && sock.error().code == errc::kPermission)
      notes.push_back(proc::utf8_safe(
          fmt::format("JVM {}: skipped its attach socket: {}", pid, sock.error().message)));
  }
  j.attach_socket = sock_ok;
  j.attach_disabled = o.attach_disabled;
  j.reduce_signals = o.reduce_signals;
  if (!c.verified)
    notes.push_back(fmt::format(
        "pid {}: its memory maps are not readable, so it is listed by its `java` launcher name "
        "and not checked for libjvm.so; run the agent as its user or with --sudo for details",
        pid));
  return j;
}

// Within the reader's limits (list_contract.h): the notes past them are
// counted in one last note.
void cap_notes(std::vector<std::string>& notes) {
  if (notes.size() <= kMaxJvmNotes) return;
  size_t more = notes.size() - (kMaxJvmNotes - 1);
  notes.resize(kMaxJvmNotes - 1);
  notes.push_back(fmt::format("… {} more notes", more));
}

}  // namespace

std::vector<ListeningSocket> listening_tcp(pid_t pid) {
  std::vector<ListeningSocket> out;
  std::set<uint64_t> inodes;
  std::string fd_dir = fmt::format("/proc/{}/fd", pid);
  for (int fd : proc::list_pids(fd_dir)) {
    auto l = read_link(fmt::format("{}/{}", fd_dir, fd));
    if (!l) continue;
    if (auto v = proc::socket_inode(*l)) inodes.insert(*v);
  }
  if (inodes.empty()) return out;
  for (const char* proto : {"tcp", "tcp6"}) {
    auto text = read_file(fmt::format("/proc/{}/net/{}", pid, proto), 16u << 20);
    if (!text) continue;
    for (auto line : proc::split_char(*text, '\n')) {
      auto s = proc::parse_inet_line(proto, line);
      if (!s || s->state != "LISTEN" || !inodes.count(s->inode)) continue;
      size_t colon = s->local.rfind(':');
      int port = colon == std::string::npos
                     ? 0
                     : static_cast<int>(proc::to_ll(s->local.substr(colon + 1)).value_or(0));
      out.push_back({s->local, port, proto});
      if (out.size() >= kMaxListening) return out;
    }
  }
  return out;
}

Result<JvmListResult> list_jvms(const ListOptions& opts) {
  proc::SystemInfo sys = proc::read_system_info();
  proc::UserDb users = proc::UserDb::load();
  JvmListResult out;
  if (opts.only_pid > 0) {
    if (::access(fmt::format("/proc/{}", opts.only_pid).c_str(), F_OK) != 0)
      return Error{errc::kNotFound, fmt::format("no process {}", opts.only_pid),
                   "list JVMs with `sonde jvm list TARGET`"};
    auto c = jvm_candidate(opts.only_pid);
    if (!c)
      return Error{errc::kNotFound,
                   fmt::format("pid {} is not a JVM (no libjvm.so mapped)", opts.only_pid),
                   "list JVMs with `sonde jvm list TARGET`"};
    out.jvms.push_back(describe(*c, sys, users, out.notes));
  } else {
    pid_t self = ::getpid();
    size_t more = 0;
    for (int pid : proc::list_pids()) {
      if (pid == self) continue;
      auto c = jvm_candidate(pid);
      if (!c) continue;
      if (out.jvms.size() < kMaxJvms)
        out.jvms.push_back(describe(*c, sys, users, out.notes));
      else
        ++more;
    }
    if (more)
      out.notes.push_back(fmt::format("{} more JVMs not described (at most {})", more, kMaxJvms));
  }
  cap_notes(out.notes);
  return out;
}

}  // namespace sonde::jvm
