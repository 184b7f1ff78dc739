// `gdbserver`: a gdbserver for PID that only this session can reach.
//
// gdbserver's own TCP listener binds every address whatever host it is given
// (gdbserver 13 listens on 0.0.0.0 for "127.0.0.1:0"), so the agent listens
// on 127.0.0.1 itself and hands each accepted connection to a gdbserver
// started on it in stdio mode (`gdbserver --attach - PID`). The process is
// attached only while a debugger is connected. When that gdbserver ends (gdb
// detached, quit, or the connection dropped) the process runs on, and is sent
// SIGCONT if it was left stopped. One debugger at a time.
//
// Events: {"listening": PORT}, {"debugger": "connected", "gdbserver_pid"},
// {"debugger": "ended", "how", "stderr"}. Cancel ends it: the result says how
// many debuggers came and in which state the process was left.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../handler.h"
#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"
#include "sonde/common/undo.h"
#include "sonde/proc/ptrace_access.h"
#include "sonde/proc/stat.h"

namespace sonde::agent {
namespace {

char process_state(pid_t pid) {
  auto st = proc::read_stat(fmt::format("/proc/{}/stat", pid));
  return st ? st->state : '?';
}

// A loopback listener on an ephemeral port.
Result<ScopedFd> listen_loopback(int* port) {
  ScopedFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errno_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return errno_error("bind");
  if (::listen(fd.get(), 1) != 0) return errno_error("listen");
  socklen_t len = sizeof a;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return errno_error("getsockname");
  *port = ntohs(a.sin_port);
  return fd;
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
};

std::string last_lines(const std::string& s) {
  std::string t = s;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

}  // namespace

void register_gdbserver(Registry& reg) {
  reg["gdbserver"] = [](RequestContext& ctx) -> Result<json> {
    auto pid_arg = arg_int(ctx.args, "pid", -1);
    if (!pid_arg) return pid_arg.error();
    if (*pid_arg <= 0 || *pid_arg > INT32_MAX)
      return Error{errc::kBadArgs, "gdbserver needs a pid", "pass -p PID"};
    auto pid = static_cast<pid_t>(*pid_arg);
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
    int port = 0;
    auto lfd = listen_loopback(&port);
    if (!lfd) return lfd.error();
    ctx.emit({{"listening", port}, {"host", "127.0.0.1"}, {"gdbserver", *exe}});

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
      ctx.emit({{"debugger", "connected"}, {"gdbserver_pid", dbg->pid()}});
    }
    if (dbg) finish(dbg->end());
    char state = process_state(pid);
    json out = {{"pid", pid},
                {"port", port},
                {"debuggers", sessions},
                {"continued", continued},
                {"process_state", std::string(1, state)},
                {"process_gone", state == '?'}};
    if (state != '?') out["tracer"] = proc::tracer_of(pid);
    return out;
  };
}

}  // namespace sonde::agent
