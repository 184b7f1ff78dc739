#include "watchdog.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "sonde/common/io.h"
#include "sonde/common/undo.h"
#include "sonde/common/untrusted.h"
#include "sonde/debug/gdbserver.h"
#include "sonde/jvm/attach.h"
#include "sonde/jvm/jmx.h"
#include "sonde/net/fault_host.h"

namespace sonde::agent {
namespace {

pid_t g_watchdog_pid = 0;

// The watchdog's end of the socket, after it moved its fds around.
constexpr int kWatchdogFd = 3;

bool same_process(const UndoRecord& r) {
  return r.pid > 0 && r.start != 0 && undo::start_time(r.pid) == r.start;
}

std::string gone(const UndoRecord& r) {
  return fmt::format("{} on pid {}: process gone or pid reused, nothing to undo", r.kind, r.pid);
}

std::string undo_affinity(const UndoRecord& r) {
  if (!same_process(r)) return gone(r);
  cpu_set_t m;
  CPU_ZERO(&m);
  uint64_t words[sizeof(cpu_set_t) / 8] = {};
  const json& w = r.args.value("mask", json::array());
  for (size_t i = 0; i < w.size() && i < std::size(words); ++i)
    if (w[i].is_number_unsigned()) words[i] = w[i].get<uint64_t>();
  std::memcpy(&m, words, sizeof words);
  if (CPU_COUNT(&m) == 0) return fmt::format("affinity of {}: empty mask in the record", r.pid);
  if (::sched_setaffinity(r.pid, sizeof m, &m) != 0)
    return fmt::format("affinity of {}: {}", r.pid, std::strerror(errno));
  return fmt::format("affinity of thread {} restored ({} CPUs)", r.pid, CPU_COUNT(&m));
}

// gdbserver holds the target under ptrace: stop_gdbserver (the op's own
// way) shuts its connection so it takes its breakpoints out and detaches (a
// plain SIGKILL would leave them in, and the target dies of SIGTRAP at the
// next one), kills it only if it will not go, and continues the target if
// the session left it stopped.
std::string undo_gdbserver(const UndoRecord& r) {
  bool ours = same_process(r);
  auto target = static_cast<pid_t>(r.args.value("target", 0));
  uint64_t tstart = r.args.value("target_start", uint64_t{0});
  bool target_here = target > 0 && tstart != 0 && undo::start_time(target) == tstart;
  debug::stop_gdbserver(ours ? r.pid : 0, target_here ? target : 0,
                        r.args.value("was_stopped", false));
  std::string what = ours ? fmt::format("gdbserver {} ended", r.pid)
                          : fmt::format("gdbserver {} already gone", r.pid);
  if (!target_here) return what + "; its target is gone";
  return what + fmt::format("; process {} released", target);
}

jvm::AttachOptions quick_attach(long reply_ms = 800) {
  // The JVM's attach listener is already up (we attached before), so this
  // only bounds a JVM that stopped answering.
  jvm::AttachOptions o;
  o.connect_timeout_ms = 700;
  o.reply_timeout_ms = reply_ms;
  return o;
}

std::string undo_jmx(const UndoRecord& r) {
  // The login files go whatever became of the JVM.
  std::string dir = r.args.value("dir", "");
  jvm::remove_jmx_files(dir);
  std::string files = dir.empty() ? "" : ", " + dir + " removed";
  if (!same_process(r)) return gone(r) + files;
  auto out = jvm::jcmd(r.pid, "ManagementAgent.stop", quick_attach());
  if (!out) return fmt::format("JMX agent of JVM {}: {}{}", r.pid, out.error().message, files);
  return fmt::format("JMX agent of JVM {} stopped{}", r.pid, files);
}

std::string undo_jfr(const UndoRecord& r) {
  if (!same_process(r)) return gone(r);
  std::string name = r.args.value("name", "");
  std::string path = r.args.value("path", "");
  std::string what = fmt::format("JFR recording {} in JVM {}", name, r.pid);
  // The recording was started without a file, so this stop discards its
  // data and answers at once. The file exists only if the agent died while
  // its own stop was writing it: the JVM runs one command at a time, so this
  // answer comes after that write, and the unlink below finds the file.
  if (!name.empty()) {
    auto out = jvm::jcmd(r.pid, "JFR.stop name=" + name, quick_attach(5000));
    what += out ? " stopped" : ": " + out.error().message;
  }
  if (!path.empty()) {
    if (::unlink(path.c_str()) == 0)
      what += ", " + path + " removed";
    else if (errno != ENOENT)
      what += fmt::format(", {}: {}", path, std::strerror(errno));
  }
  return what;
}

std::string undo_file(const UndoRecord& r) {
  std::string path = r.args.value("path", "");
  // A path under /proc/PID/root names another process's file if pid was reused.
  if (r.pid > 0 && !same_process(r)) return gone(r);
  if (path.empty()) return "file: no path in the record";
  // A folder sonde made goes with what it holds, one level deep, without
  // following anything its owner (maybe another user) put there.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (remove_private_dir(path)) return path + "/ removed";
    return fmt::format("{}/: could not be removed", path);
  }
  if (::unlink(path.c_str()) == 0) return path + " removed";
  if (errno == ENOENT) return path + " already gone";
  return fmt::format("{}: {}", path, std::strerror(errno));
}

// The record names the namespace by its identity, the devices, our qdisc
// class and nft table: undo_fault() finds the namespace wherever it still
// lives (the process that held it may be gone) and removes only those.
std::string undo_netfault(const UndoRecord& r) {
  auto rec = net::fault_record_from_json(r.args);
  if (!rec) return "network fault: " + rec.error().message;
  auto u = net::undo_fault(*rec);
  if (!u.ok) return u.log + "; its record stays for the next agent";
  if (auto st = net::remove_fault_record(*rec); !st) return u.log + "; " + st.error().message;
  return u.log + "; record removed";
}

// Points 0, 1 and 2 at /dev/null and keeps only `keep`, moved to kWatchdogFd.
bool isolate_fds(int keep) {
  if (keep != kWatchdogFd) {
    if (::dup2(keep, kWatchdogFd) < 0) return false;
    keep = kWatchdogFd;
  }
  int null = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) {
    // No /dev/null (an agent in a bare chroot): closed serves as well.
    if (null < 0)
      ::close(fd);
    else if (::dup2(null, fd) < 0)
      return false;
  }
  if (null > kWatchdogFd) ::close(null);
  if (::syscall(SYS_close_range, kWatchdogFd + 1, ~0U, 0) != 0) {
    // Kernels before 5.9 have no close_range.
    for (int fd = kWatchdogFd + 1; fd < 65536; ++fd) ::close(fd);
  }
  int fl = ::fcntl(keep, F_GETFD);
  ::fcntl(keep, F_SETFD, fl | FD_CLOEXEC);
  return true;
}

[[noreturn]] void watchdog_main(int fd) {
  ::prctl(PR_SET_NAME, "sonde-watchdog", 0, 0, 0);
  (void)!::chdir("/");  // hold no mount busy
  // Only the socket tells us to go. The agent's hangup, Ctrl-C and a broken
  // pipe are not ours; SIGTERM/SIGKILL from an admin still end us.
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGQUIT, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  std::map<uint64_t, UndoRecord> live;
  std::vector<uint8_t> buf(256 * 1024);
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF (or a broken socket): the agent is gone
    if (static_cast<size_t>(n) > buf.size()) continue;  // no record is this big
    try {
      json m = json::from_msgpack(buf.begin(), buf.begin() + n, true, false);
      if (!m.is_object()) continue;
      std::string op = m.value("op", "");
      uint64_t id = m.value("id", uint64_t{0});
      if (op == "add" && id) {
        UndoRecord r;
        r.id = id;
        r.kind = m.value("kind", "");
        r.pid = m.value("pid", 0);
        r.start = m.value("start", uint64_t{0});
        r.args = m.value("args", json::object());
        live[id] = std::move(r);
      } else if (op == "del") {
        live.erase(id);
      }
    } catch (const std::exception&) {
      // A field of the wrong type: not a record we can act on.
    }
  }
  if (live.empty()) ::_exit(0);
  ::openlog("sonde-watchdog", LOG_PID, LOG_DAEMON);
  ::syslog(LOG_NOTICE, "sonde-agent gone with %zu change(s) not undone: undoing them", live.size());
  for (const auto& line : undo_all(live)) ::syslog(LOG_NOTICE, "%s", line.c_str());
  ::closelog();
  ::_exit(0);
}

}  // namespace

const std::map<std::string, UndoAction>& undo_actions() {
  static const std::map<std::string, UndoAction> table = {
      {undo::kAffinity, undo_affinity}, {undo::kGdbserver, undo_gdbserver},
      {undo::kJmx, undo_jmx},           {undo::kJfr, undo_jfr},
      {undo::kFile, undo_file},         {undo::kNetFault, undo_netfault},
  };
  return table;
}

std::vector<std::string> undo_all(const std::map<uint64_t, UndoRecord>& live) {
  std::vector<std::string> log;
  const auto& table = undo_actions();
  // Newest first: a change made on top of another is put back before it.
  for (auto it = live.rbegin(); it != live.rend(); ++it) {
    auto a = table.find(it->second.kind);
    if (a == table.end()) {
      log.push_back(fmt::format("no undo action for `{}` (record {})", it->second.kind, it->first));
      continue;
    }
    try {
      log.push_back(a->second(it->second));
    } catch (const std::exception& e) {
      // A malformed record must not keep the others from being undone.
      log.push_back(fmt::format("{} on pid {}: {}", it->second.kind, it->second.pid, e.what()));
    }
  }
  return log;
}

pid_t watchdog_pid() {
  return g_watchdog_pid;
}

void start_watchdog() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    undo::connect(-1, fmt::format("socketpair: {}", std::strerror(errno)));
    return;
  }
  // The pid travels back through a pipe from the middle process.
  int pp[2];
  if (::pipe2(pp, O_CLOEXEC) != 0) {
    ::close(sv[0]), ::close(sv[1]);
    undo::connect(-1, fmt::format("pipe: {}", std::strerror(errno)));
    return;
  }
  pid_t mid = ::fork();
  if (mid == 0) {
    // Double fork: the watchdog is not our child, so no waitpid(-1) of ours
    // (the tracer's) reaps it, and it is re-parented to init when we die.
    ::setsid();
    pid_t w = ::fork();
    if (w != 0) {
      (void)!::write(pp[1], &w, sizeof w);
      ::_exit(w < 0 ? 1 : 0);
    }
    ::close(sv[0]);
    ::close(pp[0]);
    ::close(pp[1]);
    if (!isolate_fds(sv[1])) ::_exit(1);
    watchdog_main(kWatchdogFd);
  }
  ::close(sv[1]);
  ::close(pp[1]);
  pid_t w = -1;
  if (mid < 0 || ::read(pp[0], &w, sizeof w) != sizeof w || w <= 0) {
    int e = errno;
    ::close(pp[0]);
    ::close(sv[0]);
    if (mid > 0) ::waitpid(mid, nullptr, 0);
    undo::connect(-1, fmt::format("fork: {}", std::strerror(e)));
    return;
  }
  ::close(pp[0]);
  ::waitpid(mid, nullptr, 0);
  g_watchdog_pid = w;
  undo::connect(sv[0]);
}

}  // namespace sonde::agent
