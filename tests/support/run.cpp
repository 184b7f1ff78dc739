#include "run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string_view>

#include "sonde/common/fd.h"

extern char** environ;

namespace sonde::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Output a child writes after it exited (through a descendant that still holds
// the pipe) is read this long, then dropped.
constexpr auto kExitGrace = std::chrono::milliseconds(500);
// Beyond this a stream is still drained (so the child never blocks) but not kept.
constexpr size_t kMaxCapture = 64u << 20;

std::vector<std::string> merged_env(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, kv.find('='));
    // An agent socket would let ssh/libssh offer keys the test did not choose.
    if (key == "SSH_AUTH_SOCK" || overrides.count(std::string(key))) continue;
    out.emplace_back(kv);
  }
  for (const auto& [k, v] : overrides) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

bool make_pipe(ScopedFd& r, ScopedFd& w) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  r.reset(fds[0]);
  w.reset(fds[1]);
  return true;
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Reads what is there; false at EOF or on a hard error.
bool drain(int fd, std::string& into) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      if (into.size() < kMaxCapture) into.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;
  }
}

void record_status(Run& r, int status) {
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.exit_code = -1;
    r.signal = WTERMSIG(status);
  }
}

}  // namespace

Run run_cmd(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            int timeout_ms, const std::string& stdin_data) {
  Run r;
  if (argv.empty()) {
    r.err = "run_cmd: empty argv";
    return r;
  }
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = merged_env(env);
  std::vector<char*> c_args = c_array(args);
  std::vector<char*> c_envs = c_array(envs);

  ScopedFd in_r, in_w, out_r, out_w, err_r, err_w, exec_r, exec_w;
  if (!make_pipe(in_r, in_w) || !make_pipe(out_r, out_w) || !make_pipe(err_r, err_w) ||
      !make_pipe(exec_r, exec_w)) {
    r.err = std::string("run_cmd: pipe: ") + strerror(errno);
    return r;
  }

  // Writing to a child that already exited raises SIGPIPE: block it in this
  // thread for the duration and swallow a pending one at the end, instead of
  // changing the whole test process's disposition.
  sigset_t pipe_set, old_mask;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);

  pid_t pid = ::fork();
  if (pid < 0) {
    r.err = std::string("run_cmd: fork: ") + strerror(errno);
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    return r;
  }
  if (pid == 0) {
    // Own process group: the timeout kills whatever the child started too.
    ::setpgid(0, 0);
    sigset_t child_mask = old_mask;
    sigdelset(&child_mask, SIGPIPE);
    ::signal(SIGPIPE, SIG_DFL);
    pthread_sigmask(SIG_SETMASK, &child_mask, nullptr);
    if (::dup2(in_r.get(), 0) < 0 || ::dup2(out_w.get(), 1) < 0 || ::dup2(err_w.get(), 2) < 0) {
      int e = errno;
      (void)!::write(exec_w.get(), &e, sizeof e);
      ::_exit(127);
    }
    ::execvpe(c_args[0], c_args.data(), c_envs.data());
    int e = errno;
    (void)!::write(exec_w.get(), &e, sizeof e);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so a kill(-pid) right away finds the group
  in_r.reset();
  out_w.reset();
  err_w.reset();
  exec_w.reset();

  auto finish = [&] {
    // A SIGPIPE raised while blocked stays pending: consume it before unblocking.
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE)) {
      timespec zero{};
      sigtimedwait(&pipe_set, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  };

  // exec_r reaches EOF at a successful exec (CLOEXEC) or carries the errno.
  int exec_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_r.get(), &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    record_status(r, status);
    r.err = "run_cmd: exec " + argv[0] + ": " + strerror(exec_errno);
    finish();
    return r;
  }

  set_nonblocking(in_w.get());
  set_nonblocking(out_r.get());
  set_nonblocking(err_r.get());
  size_t written = 0;
  if (stdin_data.empty()) in_w.reset();

  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  bool reaped = false;
  Clock::time_point exited_at;
  int status = 0;

  for (;;) {
    if (!reaped) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        reaped = true;
        exited_at = Clock::now();
        // Nobody reads stdin any more.
        in_w.reset();
      }
    }
    const auto now = Clock::now();
    if (reaped && !out_r.valid() && !err_r.valid()) break;
    if (reaped && now - exited_at >= kExitGrace) {
      // A stray descendant still holds our pipes: it is ours to end.
      ::kill(-pid, SIGKILL);
      break;
    }
    if (!reaped && now >= deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      reaped = true;
      r.timed_out = true;
      // Whatever is buffered in the pipes is still worth showing.
      if (out_r.valid()) drain(out_r.get(), r.out);
      if (err_r.valid()) drain(err_r.get(), r.err);
      break;
    }

    pollfd pfds[3];
    int nfds = 0;
    int i_out = -1, i_err = -1, i_in = -1;
    if (out_r.valid()) {
      i_out = nfds;
      pfds[nfds++] = {out_r.get(), POLLIN, 0};
    }
    if (err_r.valid()) {
      i_err = nfds;
      pfds[nfds++] = {err_r.get(), POLLIN, 0};
    }
    if (in_w.valid()) {
      i_in = nfds;
      pfds[nfds++] = {in_w.get(), POLLOUT, 0};
    }
    // Short slices: waitpid is polled, not signalled.
    int slice = 50;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    if (!reaped && left < slice) slice = static_cast<int>(std::max<long long>(left, 1));
    int rc = ::poll(pfds, static_cast<nfds_t>(nfds), slice);
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;

    if (i_out >= 0 && pfds[i_out].revents && !drain(out_r.get(), r.out)) out_r.reset();
    if (i_err >= 0 && pfds[i_err].revents && !drain(err_r.get(), r.err)) err_r.reset();
    if (i_in >= 0 && pfds[i_in].revents) {
      if (pfds[i_in].revents & (POLLERR | POLLHUP)) {
        in_w.reset();
      } else {
        ssize_t w = ::write(in_w.get(), stdin_data.data() + written, stdin_data.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_data.size())
          in_w.reset();
      }
    }
  }

  record_status(r, status);
  finish();
  return r;
}

Run run_sonde(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
              int timeout_ms, const std::string& stdin_data) {
  std::vector<std::string> argv{std::string(SONDE_BIN_DIR) + "/sonde"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, env, timeout_ms, stdin_data);
}

std::string describe(const Run& r) {
  std::string s;
  if (r.timed_out) {
    s = "timed out (killed)";
  } else if (r.signal) {
    s = "killed by signal " + std::to_string(r.signal);
  } else {
    s = "exit " + std::to_string(r.exit_code);
  }
  if (!r.err.empty()) s += "; stderr: " + trim_end(r.err);
  return s;
}

bool is_root() {
  return ::geteuid() == 0;
}

bool have_program(const char* name) {
  auto executable = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  std::string_view n(name);
  if (n.find('/') != std::string_view::npos) return executable(name);
  std::string path = ::getenv("PATH") ? ::getenv("PATH") : "/usr/bin:/bin";
  path += ":/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    // Piecewise, not `dir = "."` or `dir + "/" + name`: GCC 12 -O3 reports a
    // false -Wrestrict for those (GCC bug 105651).
    if (dir.empty()) dir.push_back('.');
    dir += '/';
    dir += name;
    if (executable(dir)) return true;
    start = end + 1;
  }
  return false;
}

std::string trim_end(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace sonde::testing
