// `gdbserver`: a gdbserver for PID that only this session can reach.
//
// The agent listens on a Unix socket in a fresh 0700 directory of its own
// (gdbserver.h: DebugSocketDir), never on a TCP port: a TCP listener, even on
// loopback, lets any local user connect first and drive gdbserver with the
// agent's rights. The controller reaches the socket through an SSH
// direct-streamlocal channel, or connects to it itself for `local`. Each
// accepted connection is handed to a gdbserver started on it in stdio mode
// (`gdbserver --attach - PID`). The process is attached only while a
// debugger is connected. When that gdbserver ends (gdb detached, quit, or the
// connection dropped) the process runs on, and is sent SIGCONT if it was
// left stopped. One debugger at a time. The directory goes with the op.
//
// Events: {"listening": SOCKET_PATH}, {"debugger": "connected",
// "gdbserver_pid", "target_was_stopped"}, {"debugger": "ended", "how",
// "stderr"}. Cancel ends it: the result says how many debuggers came and in
// which state the process was left.
#include "gdbserver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "../handler.h"
#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"
#include "sonde/common/undo.h"
#include "sonde/common/untrusted.h"
#include "sonde/proc/ptrace_access.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/text.h"
#include "sonde/ptrace/debug_contract.h"

namespace sonde::agent {
namespace {

char process_state(pid_t pid) {
  auto st = proc::read_stat(fmt::format("/proc/{}/stat", pid));
  return st ? st->state : '?';
}

// Who may connect to the socket. Under --sudo the agent is root but sshd
// opens the streamlocal channel as the login user (and `local` connects as
// the controller's user), who could sudo anyway. SUDO_UID is honoured only
// when the controller says it ran us through sudo: a root shell may carry
// a stale one.
void socket_owner(bool via_sudo, uid_t* uid, gid_t* gid) {
  *uid = ::geteuid();
  *gid = ::getegid();
  if (*uid != 0 || !via_sudo) return;
  const char* u = std::getenv("SUDO_UID");
  const char* g = std::getenv("SUDO_GID");
  if (!u || !g) return;
  char* end = nullptr;
  unsigned long uv = std::strtoul(u, &end, 10);
  if (!*u || *end) return;
  unsigned long gv = std::strtoul(g, &end, 10);
  if (!*g || *end) return;
  *uid = static_cast<uid_t>(uv);
  *gid = static_cast<gid_t>(gv);
}

// $XDG_RUNTIME_DIR when it is a directory of ours that nobody else may
// write; /tmp otherwise (mkdtemp is safe in a sticky directory).
std::string socket_base() {
  const char* x = std::getenv("XDG_RUNTIME_DIR");
  struct stat st {};
  if (x && x[0] == '/' && ::stat(x, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() &&
      (st.st_mode & 022) == 0 && std::strlen(x) < 60)
    return x;
  return "/tmp";
}

class SocketDir {
 public:
  ~SocketDir() { remove(); }
  const DebugSocketDir& where() const { return d_; }
  void remove() {
    if (!d_.dir.empty()) remove_debug_socket_dir(d_.dir);
    d_.dir.clear();
    undo_.forget();
  }

  Result<ScopedFd> listen(bool via_sudo) {
    std::string tmpl = socket_base() + "/sonde-gdb-XXXXXX";
    if (!::mkdtemp(tmpl.data()))
      return errno_error("mkdtemp " + tmpl, errno,
                         "the agent needs a writable /tmp (or $XDG_RUNTIME_DIR) on the target");
    d_.dir = tmpl;  // 0700 from mkdtemp, whatever the umask
    // The watchdog removes the folder and its socket if the agent dies. (Its
    // name exists only now: a death before this line leaves an empty 0700
    // folder behind.)
    auto reg = undo::register_change(undo::kFile, 0, {{"path", d_.dir}});
    if (!reg) {
      remove();
      return reg.error();
    }
    undo_ = std::move(*reg);
    d_.path = d_.dir + "/gdb.sock";
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (d_.path.size() >= sizeof a.sun_path)
      return Error{errc::kInternal, "socket path too long: " + d_.path, {}};
    std::memcpy(a.sun_path, d_.path.c_str(), d_.path.size() + 1);
    ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) return errno_error("socket");
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return errno_error("bind " + d_.path);
    // The directory already keeps everyone else out; the socket's own mode
    // (from the umask at bind) is narrowed too.
    if (::chmod(d_.path.c_str(), 0600) != 0) return errno_error("chmod " + d_.path);
    uid_t uid;
    gid_t gid;
    socket_owner(via_sudo, &uid, &gid);
    if (uid != ::geteuid() &&
        (::chown(d_.path.c_str(), uid, gid) != 0 || ::chown(d_.dir.c_str(), uid, gid) != 0))
      return errno_error("chown " + d_.dir);
    if (::listen(fd.get(), 1) != 0) return errno_error("listen");
    return fd;
  }

 private:
  DebugSocketDir d_;
  undo::Change undo_;
};

int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// Waits up to ms for a process that is not our child to exit.
bool wait_gone(int pidfd, pid_t pid, int ms) {
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
  }
  for (int i = 0; i < ms / 20; ++i) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    ::usleep(20000);
  }
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

// One gdbserver on one accepted connection.
class DebugSession {
 public:
  DebugSession(pid_t target, std::string gdbserver) : target_(target), exe_(std::move(gdbserver)) {}
  ~DebugSession() { end(); }

  Status start(ScopedFd conn) {
    conn_ = std::move(conn);
    was_stopped_ = process_state(target_) == 'T';
    // The socket is gdbserver's stdin and stdout: the protocol runs over it.
    int flags = ::fcntl(conn_.get(), F_GETFL);
    ::fcntl(conn_.get(), F_SETFL, flags & ~O_NONBLOCK);
    SpawnOptions o;
    o.stdio_fd = conn_.get();
    o.pipe_stderr = true;
    auto c = spawn({exe_, "--attach", "-", std::to_string(target_)}, o);
    if (!c) return c.error();
    child_ = std::move(*c);
    // If the agent dies now, the watchdog kills this gdbserver and continues
    // the process. Its pid exists only from here: a death in the moment
    // since spawn returned is the one case not covered.
    auto reg = undo::register_change(undo::kGdbserver, child_.pid(),
                                     {{"target", target_},
                                      {"target_start", undo::start_time(target_)},
                                      {"was_stopped", was_stopped_}});
    if (!reg) return reg.error();  // the destructor ends it
    undo_ = std::move(*reg);
    ::fcntl(child_.err().get(), F_SETFL, ::fcntl(child_.err().get(), F_GETFL) | O_NONBLOCK);
    return ok_status();
  }

  pid_t pid() const { return child_.pid(); }

  // Collects gdbserver's stderr; true once it has exited.
  bool poll_exit() {
    drain();
    if (child_.exited()) return true;
    auto st = child_.wait(0);
    if (!st) return false;
    how_ = describe_wait_status(*st);
    drain();
    return true;
  }

  // Ends the session: the connection is shut first, so gdbserver sees the
  // debugger go and detaches by itself (removing its breakpoints); only one
  // that does not is killed. Returns how gdbserver ended.
  std::string end() {
    if (conn_.valid()) ::shutdown(conn_.get(), SHUT_RDWR);
    conn_.reset();
    for (int i = 0; i < 100 && !poll_exit(); ++i) ::usleep(20000);
    if (!child_.exited()) {
      child_.kill(SIGKILL);
      child_.wait(-1);
      how_ = "killed after 2 s (it did not detach)";
    }
    release_target();
    undo_.forget();
    return how_;
  }

  std::string stderr_tail() const { return tail_; }

 private:
  void drain() {
    if (!child_.err().valid()) return;
    char buf[1024];
    ssize_t n;
    while ((n = ::read(child_.err().get(), buf, sizeof buf)) > 0) {
      tail_.append(buf, static_cast<size_t>(n));
      if (tail_.size() > 2048) tail_.erase(0, tail_.size() - 2048);
    }
  }

  // The ptrace attachment dies with gdbserver; a stop it left behind would
  // not, so the process is continued unless it was stopped before.
  void release_target() {
    if (released_) return;
    released_ = true;
    for (int i = 0; i < 25 && !proc::tracer_of(target_).empty(); ++i) ::usleep(20000);
    if (!was_stopped_ && process_state(target_) == 'T') {
      ::kill(target_, SIGCONT);
      continued_ = true;
    }
  }

  pid_t target_;
  std::string exe_;
  ScopedFd conn_;
  Child child_;
  undo::Change undo_;
  bool was_stopped_ = false, released_ = false, continued_ = false;
  std::string how_ = "exited", tail_;

 public:
  bool continued() const { return continued_; }
  bool target_was_stopped() const { return was_stopped_; }
};

std::string last_lines(const std::string& s) {
  std::string t = s;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

}  // namespace

void remove_debug_socket_dir(const std::string& dir) {
  if (!dir.empty()) (void)remove_private_dir(dir);
}

void stop_gdbserver(pid_t gdbserver, pid_t target, bool target_was_stopped) {
  if (gdbserver > 0) {
    ScopedFd pidfd(pidfd_open(gdbserver));
    bool gone = !pidfd.valid() && errno == ESRCH;
    // A pid reused since is not ours to kill.
    if (!gone) {
      auto comm = read_file(fmt::format("/proc/{}/comm", gdbserver), 64);
      gone = !comm || proc::trim(*comm) != "gdbserver";
    }
    if (!gone) {
      // The debugger's connection is gdbserver's stdin: shutting our copy of
      // it looks to gdbserver like the debugger left, and it detaches cleanly
      // (a killed gdbserver would leave its breakpoints in the target).
      bool shut = false;
      if (pidfd.valid()) {
        ScopedFd conn(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), 0, 0)));
        if (conn.valid()) shut = ::shutdown(conn.get(), SHUT_RDWR) == 0;
      }
      // Without the connection (an old kernel, Yama) waiting cannot help.
      if (!shut || !wait_gone(pidfd.get(), gdbserver, 2000)) {
        ::kill(gdbserver, SIGKILL);
        wait_gone(pidfd.get(), gdbserver, 1000);
      }
    }
  }
  if (target <= 0) return;
  for (int i = 0; i < 25 && !proc::tracer_of(target).empty(); ++i) ::usleep(20000);
  if (!target_was_stopped && process_state(target) == 'T') ::kill(target, SIGCONT);
}

void register_gdbserver(Registry& reg) {
  reg["gdbserver"] = [](RequestContext& ctx) -> Result<json> {
    auto args = ptrace::debug_args_from_json(ctx.args);
    if (!args) return args.error();
    if (auto st = ptrace::validate(*args); !st) return st.error();
    const pid_t pid = args->pid;
    if (process_state(pid) == '?')
      return Error{errc::kNotFound, fmt::format("no process {}", pid),
                   "list processes with `sonde ps TARGET`"};
    auto exe = find_in_path("gdbserver");
    if (!exe)
      return Error{errc::kNotFound, "no gdbserver on this host (not in PATH)",
                   "install it on the target: apt-get install gdbserver (Debian, Ubuntu), "
                   "dnf install gdb-gdbserver (Fedora, RHEL)"};
    if (std::string t = proc::tracer_of(pid); !t.empty())
      return Error{errc::kPermission, fmt::format("process {} is already traced by {}", pid, t),
                   "a process has one tracer at a time: detach the other debugger first"};
    SocketDir sock;
    auto lfd = sock.listen(args->sudo);
    if (!lfd) return lfd.error();
    ctx.emit({{"listening", sock.where().path}, {"gdbserver", *exe}});

    int sessions = 0, continued = 0;
    std::unique_ptr<DebugSession> dbg;
    json ended;
    auto finish = [&](std::string how) {
      ended = {{"debugger", "ended"},
               {"how", how},
               {"stderr", last_lines(dbg->stderr_tail())},
               {"process_state", std::string(1, process_state(pid))}};
      if (dbg->continued()) ++continued;
      ctx.emit(ended);
      dbg.reset();
    };
    while (!ctx.cancel.cancelled()) {
      if (process_state(pid) == '?') break;  // the process is gone
      if (dbg && dbg->poll_exit()) finish(dbg->end());
      pollfd p{lfd->get(), POLLIN, 0};
      int r = ::poll(&p, 1, 100);
      if (r <= 0 || !(p.revents & POLLIN)) continue;
      ScopedFd conn(::accept4(lfd->get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn.valid()) continue;
      if (dbg) continue;  // one debugger at a time: the second is closed at once
      dbg = std::make_unique<DebugSession>(pid, *exe);
      if (auto st = dbg->start(std::move(conn)); !st.ok()) return st.error();
      ++sessions;
      ctx.emit({{"debugger", "connected"},
                {"gdbserver_pid", dbg->pid()},
                {"target_was_stopped", dbg->target_was_stopped()}});
    }
    // The socket goes first: the agent may have only its shutdown grace left
    // (stdin closed), and the debugger's detach below can take seconds.
    lfd->reset();
    sock.remove();
    if (dbg) finish(dbg->end());
    char state = process_state(pid);
    json out = {{"pid", pid},
                {"socket", sock.where().path},
                {"debuggers", sessions},
                {"continued", continued},
                {"process_state", std::string(1, state)},
                {"process_gone", state == '?'}};
    if (state != '?') out["tracer"] = proc::tracer_of(pid);
    return out;
  };
}

}  // namespace sonde::agent
