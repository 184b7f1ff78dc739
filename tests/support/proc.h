// Test support: look at processes in /proc (TracerPid, state, parent,
// command line, threads, CPU time) and wait, bounded, for a condition.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

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

// READY is printed just before the tracee blocks; on a loaded box its threads
// can still be runnable for a moment. Waits (bounded) until all of them sleep
// (state S in /proc/PID/task/TID/stat).
inline bool wait_all_sleeping(pid_t pid, int timeout_ms = 3000) {
  const std::string task = "/proc/" + std::to_string(pid) + "/task/";
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    std::vector<int> tids = task_ids(pid);
    if (tids.empty()) return false;
    bool all = true;
    for (int tid : tids) {
      std::string st = proc_read(task + std::to_string(tid) + "/stat");
      auto close = st.rfind(')');
      if (close == std::string::npos || close + 2 >= st.size() || st[close + 2] != 'S') all = false;
    }
    if (all) return true;
    ::usleep(10000);
  }
  return false;
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
