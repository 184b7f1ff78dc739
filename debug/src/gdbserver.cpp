// gdbserver on one accepted connection at a time (DebugSession), the op's
// accept loop, and the watchdog's way to end a gdbserver left behind.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "socket_dir.h"
#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"
#include "sonde/proc/ptrace_access.h"
#include "sonde/proc/text.h"

namespace sonde::debug {
namespace {

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

Result<ptrace::DebugResult> serve_gdbserver(
    pid_t pid, bool via_sudo, const CancelToken& cancel,
    const std::function<void(const ptrace::DebugEvent&)>& emit) {
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
  auto lfd = sock.listen(via_sudo);
  if (!lfd) return lfd.error();
  emit(ptrace::DebugListening{sock.where().path, *exe});

  int sessions = 0, continued = 0;
  std::unique_ptr<DebugSession> dbg;
  auto finish = [&](std::string how) {
    if (dbg->continued()) ++continued;
    emit(ptrace::DebuggerEnded{std::move(how), last_lines(dbg->stderr_tail()), process_state(pid)});
    dbg.reset();
  };
  while (!cancel.cancelled()) {
    if (process_state(pid) == '?') break;  // the process is gone
    if (dbg && dbg->poll_exit()) finish(dbg->end());
    pollfd p{lfd->get(), POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r <= 0 || !(p.revents & POLLIN)) continue;
    ScopedFd conn(::accept4(lfd->get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) continue;
    if (dbg) {
      // One debugger at a time, but the last one may have just detached with
      // its gdbserver still on its way out: wait for that (bounded, 1 s)
      // before a newcomer is turned away.
      for (int i = 0; i < 50 && !dbg->poll_exit(); ++i) ::usleep(20000);
      if (!dbg->poll_exit()) continue;  // a debugger is still attached: closed at once
      finish(dbg->end());
    }
    dbg = std::make_unique<DebugSession>(pid, *exe);
    if (auto st = dbg->start(std::move(conn)); !st.ok()) return st.error();
    ++sessions;
    emit(ptrace::DebuggerConnected{dbg->pid(), dbg->target_was_stopped()});
  }
  // The socket goes first: the agent may have only its shutdown grace left
  // (stdin closed), and the debugger's detach below can take seconds.
  lfd->reset();
  sock.remove();
  if (dbg) finish(dbg->end());
  char state = process_state(pid);
  ptrace::DebugResult out;
  out.pid = pid;
  out.socket = sock.where().path;
  out.debuggers = sessions;
  out.continued = continued;
  out.process_state = state;
  out.process_gone = state == '?';
  if (state != '?') out.tracer = proc::tracer_of(pid);
  return out;
}

}  // namespace sonde::debug
