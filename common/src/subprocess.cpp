#include "sonde/common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <string.h>
#include <cstring>
#include <utility>

#include "sonde/common/io.h"
#include "sonde/common/signals.h"
#include "sonde/common/thread.h"

namespace sonde {
namespace {

// Closes fds lo..hi. close_range(2) first (Linux 5.9); else the fds listed
// in /proc/self/fd, read with getdents64 into the stack: nothing here may
// allocate (a forked child of a threaded agent).
void close_fds(unsigned lo, unsigned hi) noexcept {
  if (lo > hi) return;
  if (::syscall(SYS_close_range, lo, hi, 0) == 0) return;
  int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    // No /proc (a bare chroot): every fd up to the limit, the slow way.
    rlimit rl{};
    unsigned long top =
        ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 65536;
    for (unsigned long fd = lo; fd < top && fd <= hi; ++fd) ::close(static_cast<int>(fd));
    return;
  }
  alignas(8) char buf[4096];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      off += d->d_reclen;
      unsigned fd = 0;
      bool digits = d->d_name[0] != '\0';
      for (const char* c = d->d_name; *c && digits; ++c) {
        if (*c < '0' || *c > '9')
          digits = false;
        else
          fd = fd * 10 + static_cast<unsigned>(*c - '0');
      }
      // /proc lists fds in order, so closing them does not skip any.
      if (digits && fd >= lo && fd <= hi && static_cast<int>(fd) != dir)
        ::close(static_cast<int>(fd));
    }
  }
  ::close(dir);
}

}  // namespace

void reset_child_for_exec(const int* keep, size_t n) noexcept {
  // All dispositions, not just the ones we know we change: a handler set by
  // a library would be reset by the exec anyway, but an ignored signal
  // (SIGPIPE in the agent) would stay ignored in the command.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Up to 8 fds to keep, sorted, then close the gaps around them.
  int k[8];
  size_t m = 0;
  for (size_t i = 0; i < n && m < 8; ++i)
    if (keep[i] > 2) k[m++] = keep[i];
  for (size_t i = 1; i < m; ++i)
    for (size_t j = i; j > 0 && k[j - 1] > k[j]; --j) std::swap(k[j - 1], k[j]);
  unsigned lo = 3;
  for (size_t i = 0; i < m; ++i) {
    auto fd = static_cast<unsigned>(k[i]);
    if (fd > lo) close_fds(lo, fd - 1);
    if (fd + 1 > lo) lo = fd + 1;
  }
  close_fds(lo, ~0U);
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      status_(o.status_),
      in_(std::move(o.in_)),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    this->~Child();
    new (this) Child(std::move(o));
  }
  return *this;
}

Child::~Child() {
  in_.reset();
  out_.reset();
  err_.reset();
  if (pid_ > 0 && !wait(500)) {
    kill(SIGKILL);
    wait(-1);
  }
}

std::optional<int> Child::wait(int timeout_ms) {
  if (pid_ <= 0) return status_;
  long deadline = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, timeout_ms < 0 ? 0 : WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      status_ = st;
      return st;
    }
    if (r < 0 && errno != EINTR) {
      pid_ = -1;  // not our child any more (reaped elsewhere)
      return status_;
    }
    if (deadline >= 0 && monotonic_ms() >= deadline) return std::nullopt;
    if (timeout_ms >= 0) ::usleep(2000);
  }
}

void Child::kill(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

Result<Child> spawn(const std::vector<std::string>& argv, const SpawnOptions& opts) {
  if (argv.empty()) return Error{errc::kInternal, "spawn: empty argv", {}};
  const bool pipe_in = opts.pipe_stdin && opts.stdio_fd < 0;
  const bool pipe_out = opts.pipe_stdout && opts.stdio_fd < 0;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  auto closeall = [&] {
    for (int* p : {in, out, err})
      for (int i = 0; i < 2; ++i)
        if (p[i] >= 0) ::close(p[i]);
  };
  if ((pipe_in && ::pipe2(in, O_CLOEXEC) < 0) || (pipe_out && ::pipe2(out, O_CLOEXEC) < 0) ||
      (opts.pipe_stderr && ::pipe2(err, O_CLOEXEC) < 0)) {
    int e = errno;
    closeall();
    return errno_error("pipe", e);
  }
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  // posix_spawn, not fork: glibc's shares our memory until the exec
  // (CLONE_VFORK) instead of copying the page tables, and reports a failed
  // exec as its return value. dup2 onto 0/1/2 clears their close-on-exec.
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawnattr_init(&attr);
  if (opts.stdio_fd >= 0) {
    ::posix_spawn_file_actions_adddup2(&fa, opts.stdio_fd, 0);
    ::posix_spawn_file_actions_adddup2(&fa, opts.stdio_fd, 1);
  }
  if (pipe_in) ::posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  if (pipe_out) ::posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  if (opts.pipe_stderr) ::posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  // Nothing of ours but 0, 1 and 2 (glibc: close_range, else /proc/self/fd).
  ::posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  sigset_t dflt, none;
  // Every signal to its default, not only the ones we know we ignore.
  // sigfillset leaves out the two signals glibc keeps for itself (32, 33),
  // and its posix_spawn child then sets those to SIG_IGN, which the exec
  // keeps: their bits are set by hand so they get SIG_DFL too.
  sigfillset(&dflt);
  constexpr unsigned kBits = 8 * sizeof(unsigned long);
  for (unsigned sig : {32u, 33u}) dflt.__val[(sig - 1) / kBits] |= 1UL << ((sig - 1) % kBits);
  ::posix_spawnattr_setsigdefault(&attr, &dflt);
  sigemptyset(&none);
  ::posix_spawnattr_setsigmask(&attr, &none);
  if (opts.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    ::posix_spawnattr_setpgroup(&attr, 0);
  }
  ::posix_spawnattr_setflags(&attr, flags);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, cargv[0], &fa, &attr, cargv.data(), environ);
  ::posix_spawn_file_actions_destroy(&fa);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    closeall();
    return errno_error("exec " + argv[0], rc, rc == EAGAIN ? no_task_hint() : "");
  }
  Child c;
  c.pid_ = pid;
  if (pipe_in) {
    c.in_.reset(in[1]);
    in[1] = -1;
  }
  if (pipe_out) {
    c.out_.reset(out[0]);
    out[0] = -1;
  }
  if (opts.pipe_stderr) {
    c.err_.reset(err[0]);
    err[0] = -1;
  }
  closeall();
  return c;
}

Result<RunResult> run_capture(const std::vector<std::string>& argv, int timeout_ms) {
  SpawnOptions o;
  o.pipe_stdin = false;
  auto c = spawn(argv, o);
  if (!c) return c.error();
  RunResult r;
  long deadline = monotonic_ms() + timeout_ms;
  char buf[8192];
  for (;;) {
    long left = deadline - monotonic_ms();
    if (left <= 0) {
      c->kill(SIGKILL);
      return Error{errc::kTimeout, argv[0] + " did not finish in time", {}};
    }
    auto rd = wait_readable(c->out().get(), static_cast<int>(left));
    if (!rd) return rd.error();
    if (!*rd) continue;
    auto n = read_some(c->out().get(), buf, sizeof buf);
    if (!n || *n == 0) break;
    if (r.out.size() < (64u << 20)) r.out.append(buf, *n);
  }
  c->out().reset();
  auto st = c->wait(std::max<long>(1, deadline - monotonic_ms()));
  if (!st) {
    c->kill(SIGKILL);
    return Error{errc::kTimeout, argv[0] + " did not exit in time", {}};
  }
  r.exit_code = WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
  return r;
}

std::string describe_wait_status(int st) {
  if (WIFEXITED(st)) return fmt::format("exited with status {}", WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return "killed by " + signal_text(WTERMSIG(st));
  return fmt::format("wait status {:#x}", st);
}

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

}  // namespace sonde
