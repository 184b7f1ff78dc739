// Header-only test support: start a program (a tracee, or sonde itself) as a
// child in its own process group with stdout and stderr on pipes, read its
// stdout line by line with bounded waits, and look at processes in /proc
// (TracerPid, state, parent, command line). Every wait here is bounded; the
// destructor SIGKILLs the child's whole process group and reaps it.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace sonde::testing {

inline long tracee_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Polls pred every 20 ms until it holds or timeout_ms passed; returns pred().
inline bool wait_until(const std::function<bool()>& pred, int timeout_ms) {
  long deadline = tracee_now_ms() + timeout_ms;
  while (tracee_now_ms() < deadline) {
    if (pred()) return true;
    ::usleep(20000);
  }
  return pred();
}

// A child process with stdin on /dev/null and stdout/stderr captured.
class Tracee {
 public:
  // argv[0] is searched in PATH. env entries override ours; SSH_AUTH_SOCK is
  // dropped (no agent keys leak into a test). nullptr when it cannot start.
  static std::unique_ptr<Tracee> start(const std::vector<std::string>& argv,
                                       const std::map<std::string, std::string>& env = {}) {
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
    std::unique_ptr<Tracee> t(new Tracee(pid, out[0], err[0]));
    if (n > 0) {
      t->wait(2000);
      return nullptr;
    }
    return t;
  }

  ~Tracee() {
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

 private:
  Tracee(pid_t pid, int out_fd, int err_fd) : pid_(pid), out_fd_(out_fd), err_fd_(err_fd) {
    ::fcntl(out_fd_, F_SETFL, ::fcntl(out_fd_, F_GETFL) | O_NONBLOCK);
    ::fcntl(err_fd_, F_SETFL, ::fcntl(err_fd_, F_GETFL) | O_NONBLOCK);
  }

  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
  size_t line_pos_ = 0;
  bool reaped_ = false;
  int status_ = 0;
};

// "exited with 3" / "killed by signal 9" for failure messages.
inline std::string wait_status_text(std::optional<int> st) {
  if (!st) return "still running";
  if (WIFEXITED(*st)) return "exited with " + std::to_string(WEXITSTATUS(*st));
  if (WIFSIGNALED(*st)) return "killed by signal " + std::to_string(WTERMSIG(*st));
  return "status " + std::to_string(*st);
}

// ---------------------------------------------------------------------------
// /proc helpers.

inline std::string proc_read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "";
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// A field of /proc/PID/status ("TracerPid", "State", "PPid"), trimmed; "" when
// the process is gone.
inline std::string proc_status_field(pid_t pid, const std::string& field) {
  std::istringstream in(proc_read("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::string v = line.substr(field.size() + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    return v;
  }
  return "";
}

// TracerPid as a number; -1 when the process is gone.
inline long tracer_pid(pid_t pid) {
  std::string v = proc_status_field(pid, "TracerPid");
  return v.empty() ? -1 : std::stol(v);
}

// The one-letter state (R, S, D, T, t, Z, ...); '\0' when gone.
inline char proc_state(pid_t pid) {
  std::string v = proc_status_field(pid, "State");
  return v.empty() ? '\0' : v[0];
}

inline pid_t proc_ppid(pid_t pid) {
  std::string v = proc_status_field(pid, "PPid");
  return v.empty() ? -1 : static_cast<pid_t>(std::stol(v));
}

// Gone, or a zombie waiting for its parent: it runs no more.
inline bool proc_dead(pid_t pid) {
  char s = proc_state(pid);
  return s == '\0' || s == 'Z' || s == 'X';
}

// /proc/PID/cmdline with NULs turned into spaces; "" when gone.
inline std::string proc_cmdline(pid_t pid) {
  std::string raw = proc_read("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(raw.begin(), raw.end(), '\0', ' ');
  while (!raw.empty() && raw.back() == ' ') raw.pop_back();
  return raw;
}

inline std::vector<pid_t> proc_all_pids() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit))
      out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// Live (non-zombie) processes whose command line satisfies pred.
inline std::vector<pid_t> find_procs(const std::function<bool(pid_t, const std::string&)>& pred) {
  std::vector<pid_t> out;
  for (pid_t p : proc_all_pids()) {
    if (proc_dead(p)) continue;
    std::string cmd = proc_cmdline(p);
    if (!cmd.empty() && pred(p, cmd)) out.push_back(p);
  }
  return out;
}

// True when pid is a descendant of ancestor (walking PPid up).
inline bool proc_descends_from(pid_t pid, pid_t ancestor) {
  for (int i = 0; i < 64 && pid > 1; ++i) {
    pid = proc_ppid(pid);
    if (pid == ancestor) return true;
  }
  return false;
}

// The thread ids of pid, sorted; empty when it is gone.
inline std::vector<int> task_ids(pid_t pid) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::string n = e.path().filename().string();
    if (!n.empty() && std::all_of(n.begin(), n.end(), ::isdigit)) out.push_back(std::stoi(n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Nanoseconds on CPU over all threads (schedstat): grows while a thread
// spins, and by a few µs at each wake-up of a sleeping one.
inline unsigned long long cpu_ns(pid_t pid) {
  unsigned long long sum = 0;
  for (int tid : task_ids(pid)) {
    std::istringstream in(
        proc_read("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/schedstat"));
    unsigned long long ns = 0;
    if (in >> ns) sum += ns;
  }
  return sum;
}

// "" when, within 3 s, no thread is traced or stopped and the process then
// makes progress within 2 s; else what is wrong. (The kernel may take a
// moment to finish a detach.)
inline std::string running_untraced(pid_t pid) {
  std::string problem;
  wait_until(
      [&] {
        problem.clear();
        if (proc_dead(pid)) {
          problem = "the target died";
          return false;
        }
        for (int tid : task_ids(pid)) {
          long tracer = tracer_pid(tid);
          char st = proc_state(tid);
          if (tracer > 0)
            problem +=
                "thread " + std::to_string(tid) + " traced by " + std::to_string(tracer) + "; ";
          if (st == 'T' || st == 't')
            problem += "thread " + std::to_string(tid) + " stopped (" + std::string(1, st) + "); ";
        }
        return problem.empty();
      },
      3000);
  if (!problem.empty()) return problem;
  unsigned long long before = cpu_ns(pid);
  if (!wait_until([&] { return cpu_ns(pid) > before; }, 2000))
    return "no progress in 2 s (schedstat stays at " + std::to_string(before) + " ns)";
  return "";
}

// Whether this test may attach to a process that is not its child; *why
// says what is missing when not.
inline bool ptrace_allowed(std::string* why) {
  if (::geteuid() == 0) return true;
  std::string scope = proc_read("/proc/sys/kernel/yama/ptrace_scope");
  if (!scope.empty() && scope[0] >= '1') {
    *why = "attaching to a non-child needs root or kernel.yama.ptrace_scope 0";
    return false;
  }
  return true;
}

}  // namespace sonde::testing
