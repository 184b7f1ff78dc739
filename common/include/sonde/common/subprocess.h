// Child processes with pipes on stdin/stdout (and optionally stderr).
// The Child owns the process: its destructor closes our ends, waits a moment,
// then kills what is still there, so no child outlives a failed command.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sonde/common/fd.h"
#include "sonde/common/result.h"

namespace sonde {

struct SpawnOptions {
  bool pipe_stdin = true;
  bool pipe_stdout = true;
  bool pipe_stderr = false;  // false: inherit ours
  bool new_process_group = false;
  // When set, the child's stdin and stdout are this fd (a connected socket
  // it speaks a protocol over); pipe_stdin and pipe_stdout are ignored.
  int stdio_fd = -1;
};

class Child {
 public:
  Child() = default;
  Child(Child&&) noexcept;
  Child& operator=(Child&&) noexcept;
  ~Child();

  pid_t pid() const { return pid_; }
  ScopedFd& in() { return in_; }    // write end of the child's stdin
  ScopedFd& out() { return out_; }  // read end of the child's stdout
  ScopedFd& err() { return err_; }  // read end of the child's stderr, when piped

  // Wait for exit up to timeout_ms (-1: forever). Returns the raw wait status,
  // or nullopt on timeout.
  std::optional<int> wait(int timeout_ms);
  void kill(int sig);
  bool exited() const { return pid_ <= 0; }
  int status() const { return status_; }

 private:
  friend Result<Child> spawn(const std::vector<std::string>&, const SpawnOptions&);
  pid_t pid_ = -1;
  int status_ = 0;
  ScopedFd in_, out_, err_;
};

// Runs argv[0] (searched in PATH) with posix_spawn. A program that cannot
// be executed makes spawn() itself fail, with the exec's errno. The child
// starts clean whatever the caller blocks, ignores or holds open (the agent
// ignores SIGPIPE, blocks its shutdown signals, and has sockets, perf rings
// and ptrace pipes): every signal at its default, none blocked, and only
// fds 0, 1 and 2.
Result<Child> spawn(const std::vector<std::string>& argv, const SpawnOptions& opts = {});

// Runs to completion and captures stdout (bounded). For tests and small helpers.
struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
};
Result<RunResult> run_capture(const std::vector<std::string>& argv, int timeout_ms = 30000);

// For a child made with fork() (launch paths that must stop between fork and
// exec): every signal back to SIG_DFL, an empty mask, and every fd above 2
// closed except the n in `keep` (which should be O_CLOEXEC, so the exec
// closes them too). Async-signal-safe: it allocates nothing.
void reset_child_for_exec(const int* keep = nullptr, size_t n = 0) noexcept;

// Human text for a wait status: "exited with 3", "killed by SIGKILL".
std::string describe_wait_status(int status);

// POSIX shell single-quoting: one word whatever s holds.
std::string shell_quote(std::string_view s);

}  // namespace sonde
