// Starts a tracee from tests/targets and waits (bounded) for its READY line.
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"

namespace sonde::testing {

struct Tracee {
  Child child;
  std::string ready;  // the READY line without the newline

  Tracee() = default;
  Tracee(Tracee&&) = default;
  Tracee& operator=(Tracee&&) = default;
  // Killed at once: Child's own destructor would first wait half a second.
  ~Tracee() { child.kill(SIGKILL); }

  int pid() const { return child.pid(); }
};

inline std::string target_path(const std::string& name) {
  return std::string(SONDE_TARGETS_DIR) + "/" + name;
}

// Empty ready string on failure; the caller asserts on it.
inline Tracee start_tracee(std::vector<std::string> argv, int timeout_ms = 5000) {
  Tracee t;
  SpawnOptions o;
  o.pipe_stdin = false;
  auto c = spawn(argv, o);
  if (!c) {
    ADD_FAILURE() << "spawn " << argv[0] << ": " << c.error().describe();
    return t;
  }
  t.child = std::move(*c);
  std::string buf;
  char ch;
  while (buf.find('\n') == std::string::npos) {
    auto r = wait_readable(t.child.out().get(), timeout_ms);
    if (!r || !*r) break;
    auto n = read_some(t.child.out().get(), &ch, 1);
    if (!n || *n == 0) break;
    buf += ch;
  }
  if (auto nl = buf.find('\n'); nl != std::string::npos) t.ready = buf.substr(0, nl);
  return t;
}

// READY is printed just before the tracee blocks; on a loaded box its threads
// can still be runnable for a moment. Waits (bounded) until all of them sleep.
inline bool wait_all_sleeping(int pid, int timeout_ms = 3000) {
  std::string task = "/proc/" + std::to_string(pid) + "/task";
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    bool all = true;
    if (DIR* d = ::opendir(task.c_str())) {
      while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        auto st = read_file(task + "/" + e->d_name + "/stat", 4096);
        auto close = st ? st->rfind(')') : std::string::npos;
        if (close == std::string::npos || close + 2 >= st->size() || (*st)[close + 2] != 'S')
          all = false;
      }
      ::closedir(d);
    } else {
      return false;
    }
    if (all) return true;
    ::usleep(10000);
  }
  return false;
}

}  // namespace sonde::testing
