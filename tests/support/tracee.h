// Header-only test support: start a program (a tracee from tests/targets, or
// sonde itself) as a child in its own process group with stdout and stderr on
// pipes and read its stdout line by line with bounded waits. Every wait here
// is bounded; the destructor SIGKILLs the child's whole process group and
// reaps it. proc.h (included) looks at processes in /proc.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proc.h"

extern char** environ;

namespace sonde::testing {

// A child process with stdin on /dev/null and stdout/stderr captured.
class Tracee {
 public:
  // argv[0] is searched in PATH. env entries override ours; SSH_AUTH_SOCK is
  // dropped (no agent keys leak into a test). nullptr when it cannot start.
  static std::unique_ptr<Tracee> start(const std::vector<std::string>& argv,
                                       const std::map<std::string, std::string>& env = {}) {
    return start_as<Tracee>(argv, env);
  }

  virtual ~Tracee() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      wait(3000);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
  }
  Tracee(const Tracee&) = delete;
  Tracee& operator=(const Tracee&) = delete;

  pid_t pid() const { return pid_; }
  // Signals the child itself (not its group), like a kill(1) of that pid.
  void signal(int sig) const { ::kill(pid_, sig); }
  // Signals the child's whole process group.
  void signal_group(int sig) const { ::kill(-pid_, sig); }

  // Everything read so far.
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Reads whatever arrives on stdout/stderr for at most ms milliseconds
  // (returns early once both are at EOF).
  void pump(int ms) {
    long deadline = tracee_now_ms() + ms;
    for (;;) {
      pollfd p[2];
      int n = 0;
      if (out_fd_ >= 0) p[n++] = {out_fd_, POLLIN, 0};
      if (err_fd_ >= 0) p[n++] = {err_fd_, POLLIN, 0};
      if (n == 0) {
        long left = deadline - tracee_now_ms();
        if (left > 0) ::usleep(static_cast<useconds_t>(std::min(left, 20L)) * 1000);
        return;
      }
      long left = deadline - tracee_now_ms();
      int r = ::poll(p, n, static_cast<int>(std::max(left, 0L)));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return;
      for (int i = 0; i < n; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        bool is_out = p[i].fd == out_fd_;
        char buf[65536];
        ssize_t got = ::read(p[i].fd, buf, sizeof buf);
        if (got > 0) {
          (is_out ? out_ : err_).append(buf, static_cast<size_t>(got));
        } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
          ::close(p[i].fd);
          (is_out ? out_fd_ : err_fd_) = -1;
        }
      }
      if (tracee_now_ms() >= deadline) return;
    }
  }

  // The next complete stdout line (without '\n'), waiting at most timeout_ms.
  std::optional<std::string> next_line(int timeout_ms) {
    long deadline = tracee_now_ms() + timeout_ms;
    for (;;) {
      size_t nl = out_.find('\n', line_pos_);
      if (nl != std::string::npos) {
        std::string line = out_.substr(line_pos_, nl - line_pos_);
        line_pos_ = nl + 1;
        return line;
      }
      long left = deadline - tracee_now_ms();
      if (left <= 0 || (out_fd_ < 0 && err_fd_ < 0)) return std::nullopt;
      pump(static_cast<int>(std::min(left, 50L)));
    }
  }

  // Reads lines until one satisfies pred (returned) or timeout_ms passed.
  std::optional<std::string> wait_line(const std::function<bool(const std::string&)>& pred,
                                       int timeout_ms) {
    long deadline = tracee_now_ms() + timeout_ms;
    for (;;) {
      long left = deadline - tracee_now_ms();
      if (left <= 0) return std::nullopt;
      auto line = next_line(static_cast<int>(left));
      if (!line) return std::nullopt;
      if (pred(*line)) return line;
    }
  }

  // Waits (reading output meanwhile) up to timeout_ms for the child to exit;
  // the raw wait status, or nullopt if it is still running.
  std::optional<int> wait(int timeout_ms) {
    if (reaped_) return status_;
    long deadline = tracee_now_ms() + timeout_ms;
    for (;;) {
      int st = 0;
      pid_t w = ::waitpid(pid_, &st, WNOHANG);
      if (w == pid_) {
        reaped_ = true;
        status_ = st;
        pump(0);
        return st;
      }
      if (w < 0 && errno != EINTR) return std::nullopt;
      long left = deadline - tracee_now_ms();
      if (left <= 0) return std::nullopt;
      pump(static_cast<int>(std::min(left, 20L)));
      if (out_fd_ < 0 && err_fd_ < 0) ::usleep(5000);
    }
  }

  bool reaped() const { return reaped_; }

 protected:
  // start() for a class built on Tracee (T declares Tracee a friend).
  template <class T>
  static std::unique_ptr<T> start_as(const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& env) {
    if (argv.empty()) return nullptr;
    std::vector<std::string> args = argv, envs;
    for (char** e = environ; e && *e; ++e) {
      std::string kv(*e);
      std::string key = kv.substr(0, kv.find('='));
      if (key == "SSH_AUTH_SOCK" || env.count(key)) continue;
      envs.push_back(kv);
    }
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<char*> c_args, c_envs;
    for (auto& s : args) c_args.push_back(s.data());
    c_args.push_back(nullptr);
    for (auto& s : envs) c_envs.push_back(s.data());
    c_envs.push_back(nullptr);

    int out[2], err[2], exec_pipe[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return nullptr;
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ::close(out[0]), ::close(out[1]);
      return nullptr;
    }
    if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
      ::close(out[0]), ::close(out[1]), ::close(err[0]), ::close(err[1]);
      return nullptr;
    }
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      sigset_t none;
      sigemptyset(&none);
      pthread_sigmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      ::signal(SIGINT, SIG_DFL);
      if (::dup2(devnull, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) ::_exit(127);
      ::execvpe(c_args[0], c_args.data(), c_envs.data());
      int e = errno;
      (void)!::write(exec_pipe[1], &e, sizeof e);
      ::_exit(127);
    }
    if (devnull >= 0) ::close(devnull);
    ::close(out[1]);
    ::close(err[1]);
    ::close(exec_pipe[1]);
    if (pid < 0) {
      ::close(out[0]), ::close(err[0]), ::close(exec_pipe[0]);
      return nullptr;
    }
    ::setpgid(pid, pid);
    int e = 0;
    ssize_t n = ::read(exec_pipe[0], &e, sizeof e);  // EOF (0) once exec succeeded
    ::close(exec_pipe[0]);
    std::unique_ptr<T> t(new T(pid, out[0], err[0]));
    if (n > 0) {
      t->wait(2000);
      return nullptr;
    }
    return t;
  }

 protected:
  Tracee(pid_t pid, int out_fd, int err_fd) : pid_(pid), out_fd_(out_fd), err_fd_(err_fd) {
    ::fcntl(out_fd_, F_SETFL, ::fcntl(out_fd_, F_GETFL) | O_NONBLOCK);
    ::fcntl(err_fd_, F_SETFL, ::fcntl(err_fd_, F_GETFL) | O_NONBLOCK);
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
  size_t line_pos_ = 0;
  bool reaped_ = false;
  int status_ = 0;
};

// A program built from tests/targets.
inline std::string target_path(const std::string& name) {
  return std::string(SONDE_TARGETS_DIR) + "/" + name;
}

// Starts argv (a tests/targets program) and waits up to timeout_ms for its
// first stdout line, the READY line, which *ready receives ("" when none
// came). nullptr, with a test failure recorded, when it cannot start.
inline std::unique_ptr<Tracee> start_tracee(const std::vector<std::string>& argv,
                                            std::string* ready, int timeout_ms = 5000) {
  ready->clear();
  auto t = Tracee::start(argv);
  if (!t) {
    ADD_FAILURE() << "cannot start " << (argv.empty() ? "<nothing>" : argv[0]);
    return nullptr;
  }
  *ready = t->next_line(timeout_ms).value_or("");
  return t;
}

// "exited with 3" / "killed by signal 9" for failure messages.
inline std::string wait_status_text(std::optional<int> st) {
  if (!st) return "still running";
  if (WIFEXITED(*st)) return "exited with " + std::to_string(WEXITSTATUS(*st));
  if (WIFSIGNALED(*st)) return "killed by signal " + std::to_string(WTERMSIG(*st));
  return "status " + std::to_string(*st);
}

}  // namespace sonde::testing
