#include "sonde/jvm/attach.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/jvm/options.h"
#include "sonde/jvm/process.h"
#include "sonde/proc/text.h"

namespace sonde::jvm {

Result<AttachReply> parse_attach_reply(std::string_view raw) {
  size_t nl = raw.find('\n');
  std::string_view first = raw.substr(0, nl);
  while (!first.empty() && (first.back() == '\r' || first.back() == ' ')) first.remove_suffix(1);
  if (first.empty())
    return Error{errc::kProtocol, "the JVM closed the attach connection without a reply",
                 "the attach listener may have failed; see the JVM's own output"};
  int sign = 1;
  size_t i = 0;
  if (first[0] == '-') sign = -1, i = 1;
  if (i >= first.size() || first.size() - i > 9)
    return Error{errc::kProtocol, "the attach reply does not start with a status", {}};
  int v = 0;
  for (; i < first.size(); ++i) {
    if (first[i] < '0' || first[i] > '9')
      return Error{errc::kProtocol,
                   fmt::format("the attach reply does not start with a status: \"{}\"",
                               proc::printable(first.substr(0, 40))),
                   {}};
    v = v * 10 + (first[i] - '0');
  }
  AttachReply r;
  r.status = sign * v;
  r.output = nl == std::string_view::npos ? "" : std::string(raw.substr(nl + 1));
  return r;
}

Result<std::string> encode_attach_request(const std::string& cmd,
                                          const std::vector<std::string>& args) {
  if (args.size() > 3)
    return Error{errc::kBadArgs, "an attach request carries at most three arguments", {}};
  std::string out("1", 1);
  out.push_back('\0');
  auto add = [&](const std::string& s) -> bool {
    if (s.find('\0') != std::string::npos) return false;
    out += s;
    out.push_back('\0');
    return true;
  };
  if (cmd.empty() || !add(cmd)) return Error{errc::kBadArgs, "bad attach command", {}};
  for (size_t i = 0; i < 3; ++i)
    if (!add(i < args.size() ? args[i] : std::string()))
      return Error{errc::kBadArgs, "an attach argument contains a NUL byte", {}};
  return out;
}

std::optional<int> parse_load_return_code(std::string_view out) {
  std::string_view s = out;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n')) s.remove_prefix(1);
  constexpr std::string_view kPrefix = "return code: ";
  if (s.substr(0, kPrefix.size()) == kPrefix) s.remove_prefix(kPrefix.size());
  int sign = 1;
  if (!s.empty() && s[0] == '-') sign = -1, s.remove_prefix(1);
  if (s.empty() || s[0] < '0' || s[0] > '9') return std::nullopt;
  int v = 0;
  for (size_t i = 0; i < s.size() && i < 9 && s[i] >= '0' && s[i] <= '9'; ++i)
    v = v * 10 + (s[i] - '0');
  return sign * v;
}

std::string jvm_tmp_dir(pid_t pid) {
  return fmt::format("/proc/{}/root/tmp", pid);
}

std::string attach_socket_path(pid_t pid, pid_t nspid) {
  return fmt::format("{}/.java_pid{}", jvm_tmp_dir(pid), nspid);
}

Status check_attach_socket(const std::string& path, uid_t euid) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    // Not there, or not visible to us (EACCES on another user's
    // /proc/PID/root): either way not a socket we may use, and not planted.
    int e = errno;
    return Error::sys(errc::kNotFound, e, fmt::format("{}: {}", path, std::strerror(e)), {});
  }
  const std::string hint =
      "another user may have planted it: if the JVM did not make it, remove it and retry (the "
      "JVM makes a new one when asked)";
  if (!S_ISSOCK(st.st_mode))
    return Error{errc::kPermission,
                 fmt::format("{} is not a socket ({}): not used", path,
                             S_ISLNK(st.st_mode) ? "a symbolic link" : "another kind of file"),
                 hint};
  if (st.st_uid != euid)
    return Error{errc::kPermission,
                 fmt::format("{} belongs to uid {}, not to the JVM's uid {}: not used", path,
                             st.st_uid, euid),
                 hint};
  if (st.st_mode & 077)
    return Error{errc::kPermission,
                 fmt::format("{} is open to other users (mode {:o}): not used", path,
                             st.st_mode & 07777),
                 hint};
  return ok_status();
}

namespace {

// The calling thread alone takes the JVM's effective uid and gid. Raw
// syscalls on purpose: glibc's setresuid() changes every thread of the agent,
// and other requests run beside this one. Only the effective ids change, so
// the saved root ids let the destructor switch back.
class ThreadCreds {
 public:
  ThreadCreds(uid_t uid, gid_t gid) {
    if (::geteuid() != 0 || uid == 0) return;
    if (::syscall(SYS_setresgid, -1, gid, -1) != 0) return;
    if (::syscall(SYS_setresuid, -1, uid, -1) != 0) {
      (void)::syscall(SYS_setresgid, -1, 0, -1);
      return;
    }
    switched_ = true;
  }
  ~ThreadCreds() {
    if (!switched_) return;
    // Back to root: if this failed the thread would keep a user's identity,
    // which later requests on it must never see.
    if (::syscall(SYS_setresuid, -1, 0, -1) != 0 || ::syscall(SYS_setresgid, -1, 0, -1) != 0)
      std::abort();
  }
  ThreadCreds(const ThreadCreds&) = delete;
  ThreadCreds& operator=(const ThreadCreds&) = delete;
  bool switched() const { return switched_; }

 private:
  bool switched_ = false;
};

// Removes the trigger file on every path: left behind it would make the
// JVM start its listener at the next SIGQUIT (kill -3 for a thread dump).
class TriggerFile {
 public:
  ~TriggerFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  Status create(pid_t pid, pid_t nspid) {
    // The JVM looks in its working directory first, then in /tmp.
    int first_errno = 0;
    for (const std::string& dir :
         {fmt::format("/proc/{}/cwd", pid), fmt::format("/proc/{}/root/tmp", pid)}) {
      std::string p = fmt::format("{}/.attach_pid{}", dir, nspid);
      // O_NONBLOCK: a FIFO planted under this name must not hang us.
      int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0660);
      if (fd >= 0) {
        ::close(fd);
        path_ = p;
        return ok_status();
      }
      if (!first_errno) first_errno = errno;
    }
    return Error::sys(code_for_errno(first_errno), first_errno,
                      fmt::format("cannot create the attach trigger file for JVM {}: {}", pid,
                                  std::strerror(first_errno)),
                      "run the agent as the JVM's user, or with --sudo");
  }

 private:
  std::string path_;
};

// connect() to the attach socket; errno kept for the caller.
int connect_unix(const std::string& path, int* err) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) {
    *err = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    *err = errno;
    ::close(fd);
    return -1;
  }
  return fd;
}

bool attach_disabled_on_cmdline(pid_t pid) {
  auto raw = read_file(fmt::format("/proc/{}/cmdline", pid), 1u << 20);
  if (!raw) return false;
  JvmOptions o = parse_java_command_line(split_cmdline(*raw));
  return o.attach_disabled;
}

// EACCES/EPERM on connect: the socket is the JVM user's, mode 0600.
Error socket_refused(const ProcIds& ids, int err) {
  return Error::sys(
      errc::kPermission, err,
      fmt::format("JVM {}'s attach socket refuses us: {}", ids.pid, std::strerror(err)),
      fmt::format("the JVM runs as uid {}: run the agent as that user or with --sudo", ids.euid));
}

Error no_answer(pid_t pid, long waited_ms) {
  return Error{errc::kTimeout,
               fmt::format("JVM {} did not open its attach socket within {:.1f} s", pid,
                           static_cast<double>(waited_ms) / 1000),
               "it may run with -XX:+DisableAttachMechanism (also via JAVA_TOOL_OPTIONS), be "
               "stuck (a long GC or safepoint: try `sonde stack TARGET -p PID`), or use "
               "another /tmp; a thread dump may have gone to its stdout"};
}

// The lstat in check_attach_socket and the connect are two steps: the
// listener's credentials (fixed when it called listen) close the gap. The
// pid is 0 when the JVM's pid namespace is not below ours.
Result<ScopedFd> checked_peer(ScopedFd fd, const ProcIds& ids, const std::string& sock) {
  ucred peer{};
  socklen_t len = sizeof peer;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0)
    return errno_error("SO_PEERCRED on " + sock);
  if (peer.uid != ids.euid || (peer.pid != 0 && peer.pid != ids.pid))
    return Error{errc::kPermission,
                 fmt::format("{} is served by pid {} uid {}, not by JVM {} (uid {}): not used",
                             sock, peer.pid, peer.uid, ids.pid, ids.euid),
                 "another user may have planted it: if the JVM did not make it, remove it and "
                 "retry"};
  return fd;
}

// Connects to the JVM's attach socket, triggering the listener if needed.
Result<ScopedFd> connect_attach(const ProcIds& ids, const AttachOptions& opts,
                                CancelToken* cancel) {
  const pid_t pid = ids.pid;
  std::string sock = attach_socket_path(pid, ids.nspid);
  int err = 0;
  if (auto ok = check_attach_socket(sock, ids.euid); ok.ok()) {
    int fd = connect_unix(sock, &err);
    if (fd >= 0) return checked_peer(ScopedFd(fd), ids, sock);
    if (err == EACCES || err == EPERM) return socket_refused(ids, err);
    // ECONNREFUSED: a stale socket from an earlier JVM with the same pid;
    // the JVM recreates it when triggered.
  } else if (ok.error().code == errc::kPermission) {
    return ok.error();
  }
  // The JVM only accepts its own effective user (or root) on the socket and
  // as owner of the trigger file: say so before trying anything else.
  if (uid_t me = ::geteuid(); me != 0 && me != ids.euid)
    return Error{errc::kPermission,
                 fmt::format("JVM {} runs as uid {} and the agent as uid {}: the attach "
                             "mechanism accepts only the JVM's own user (or root)",
                             pid, ids.euid, me),
                 "rerun with --sudo, or run the agent as the JVM's user (e.g. --via 'sudo -u "
                 "USER sonde-agent serve')"};
  if (attach_disabled_on_cmdline(pid))
    return Error{
        errc::kPermission,
        fmt::format("JVM {} runs with -XX:+DisableAttachMechanism: it refuses attach", pid),
        "restart it without that flag to use jvm threads/flags/props/jfr/jmx; "
        "`sonde stack` and `sonde jvm list` still work"};
  if (auto ok = check_hotspot(pid); !ok) return ok.error();
  if (::kill(pid, 0) != 0) {
    int e = errno;
    if (e == ESRCH) return Error{errc::kNotFound, fmt::format("no process {}", pid), {}};
    return Error::sys(
        errc::kPermission, e,
        fmt::format("not allowed to signal JVM {} (it runs as uid {})", pid, ids.euid),
        "run the agent as the JVM's user or with --sudo");
  }
  TriggerFile trigger;
  if (auto ok = trigger.create(pid, ids.nspid); !ok) return ok.error();
  // check_hotspot() has just seen libjvm.so mapped and SIGQUIT caught: the
  // JVM's signal thread takes it, finds the trigger file and starts the
  // attach listener (or, without one, prints a thread dump).
  if (::kill(pid, SIGQUIT) != 0) {
    int e = errno;
    return Error::sys(code_for_errno(e), e,
                      fmt::format("kill(SIGQUIT) on JVM {}: {}", pid, std::strerror(e)), {});
  }
  long start = monotonic_ms();
  long delay = 20;
  for (;;) {
    if (auto ok = check_attach_socket(sock, ids.euid); ok.ok()) {
      int fd = connect_unix(sock, &err);
      if (fd >= 0) return checked_peer(ScopedFd(fd), ids, sock);
      if (err == EACCES || err == EPERM) return socket_refused(ids, err);
    } else if (ok.error().code == errc::kPermission) {
      return ok.error();
    }
    if (::kill(pid, 0) != 0 && errno == ESRCH)
      return Error{errc::kNotFound, fmt::format("JVM {} exited while we waited for it", pid), {}};
    long waited = monotonic_ms() - start;
    if (waited >= opts.connect_timeout_ms) return no_answer(pid, waited);
    long nap = std::min(delay, opts.connect_timeout_ms - waited);
    if (cancel ? !cancel->sleep_for(nap) : (::usleep(static_cast<useconds_t>(nap) * 1000), false))
      return Error{errc::kCancelled, "attach cancelled", {}};
    delay = std::min(delay * 2, 200L);
  }
}

}  // namespace

Result<AttachReply> attach_execute(pid_t pid, const std::string& cmd,
                                   const std::vector<std::string>& args, const AttachOptions& opts,
                                   CancelToken* cancel) {
  auto req = encode_attach_request(cmd, args);
  if (!req) return req.error();
  auto ids = read_proc_ids(pid);
  if (!ids) return ids.error();
  ScopedFd fd;
  {
    ThreadCreds creds(ids->euid, ids->egid);
    auto c = connect_attach(*ids, opts, cancel);
    if (!c) return c.error();
    fd = std::move(*c);
  }
  if (auto w = write_all(fd.get(), *req); !w)
    return Error{errc::kIo,
                 fmt::format("sending the attach request to JVM {}: {}", pid, w.error().message),
                 {}};
  ::shutdown(fd.get(), SHUT_WR);
  auto raw =
      read_attach_reply(fd.get(), opts, cancel, fmt::format("JVM {}'s `{}` reply", pid, cmd));
  if (!raw) return raw.error();
  auto r = parse_attach_reply(raw->bytes);
  if (!r) return r.error();
  r->more_bytes = raw->more_bytes;
  return r;
}

Result<RawReply> read_attach_reply(int fd, const AttachOptions& opts, CancelToken* cancel,
                                   const std::string& what) {
  RawReply out;
  long start = monotonic_ms();
  char buf[65536];
  for (;;) {
    if (cancel && cancel->cancelled()) return Error{errc::kCancelled, "attach cancelled", {}};
    long left = opts.reply_timeout_ms - (monotonic_ms() - start);
    if (left <= 0)
      return Error{errc::kTimeout,
                   fmt::format("{} did not end within {} s", what, opts.reply_timeout_ms / 1000),
                   "the JVM may be stuck at a safepoint; try `sonde stack TARGET -p PID`"};
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min(left, 200L)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("poll");
    if (n == 0) continue;
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno_error("reading " + what);
    if (got == 0) break;
    size_t g = static_cast<size_t>(got);
    size_t keep = out.bytes.size() < opts.max_reply_bytes
                      ? std::min(g, opts.max_reply_bytes - out.bytes.size())
                      : 0;
    out.bytes.append(buf, keep);
    out.more_bytes += g - keep;
    // Past this the count is enough; closing early costs the JVM an EPIPE
    // on its attach thread, which it handles.
    if (out.more_bytes >= kMaxDrainBytes) break;
  }
  return out;
}

Result<std::string> jcmd(pid_t pid, const std::string& line, const AttachOptions& opts,
                         CancelToken* cancel, uint64_t* more_bytes) {
  auto r = attach_execute(pid, "jcmd", {line}, opts, cancel);
  if (!r) return r.error();
  if (more_bytes) *more_bytes = r->more_bytes;
  if (r->status != 0) {
    // An error message is one line for a human, not a reply's worth.
    constexpr size_t kMaxMessage = 4096;
    std::string msg = r->output.substr(0, kMaxMessage);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Error{errc::kIo,
                 fmt::format("JVM {} refused `{}`: {}", pid, line,
                             msg.empty() ? fmt::format("status {}", r->status) : msg),
                 "is this JVM older than JDK 9, or the command unknown to it?"};
  }
  return r->output;
}

}  // namespace sonde::jvm
