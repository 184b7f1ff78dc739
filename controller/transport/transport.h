// A transport is a byte stream to `sonde-agent serve`: over SSH, a local
// child process, or any command the user gives (--via). Sessions speak the
// protocol over it and never care which it is.
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "sonde/common/result.h"

namespace sonde::controller {

class SshConnection;

struct ReadResult {
  size_t n = 0;      // bytes read (0 on timeout or EOF)
  bool eof = false;  // the agent side closed its stdout
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Status write(std::string_view data) = 0;
  // Waits up to timeout_ms (-1: forever) for bytes from the agent.
  virtual Result<ReadResult> read(char* buf, size_t len, int timeout_ms) = 0;
  // Closes our end so the agent sees EOF, and releases what the transport holds.
  virtual void close() = 0;
  // "ssh root@db1:22", "local", "via 'kubectl exec -i pod -- ...'"
  virtual std::string describe() const = 0;
  // After an unexpected EOF: how the agent ended and the tail of its stderr,
  // turned into an error with a hint.
  virtual Error explain_eof() = 0;

  // Port forwards (forward.h) ride on the transport. Over SSH each stream is
  // a direct-tcpip channel on this connection (nullptr: none).
  virtual SshConnection* ssh_connection() { return nullptr; }
  // True when the target is this machine (`local`): a forwarded stream is a
  // plain TCP connection from here.
  virtual bool forwards_directly() const { return false; }
};

// Keeps the last bytes of the agent's stderr for error messages, and relays
// them to our stderr as they come (or, on a fleet run's worker thread, to
// that host's captured stderr: set_thread_stderr).
class StderrTail {
 public:
  void add(const char* data, size_t n, bool relay);
  const std::string& text() const { return tail_; }
  std::string last_line() const;

 private:
  std::string tail_;
};

// Where StderrTail relays on this thread; null: fd 2.
void set_thread_stderr(FILE* f);

}  // namespace sonde::controller
