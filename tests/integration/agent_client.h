// Talks to a real `sonde-agent serve` child over pipes, frame by frame, so
// tests can send exactly the bytes they want (including garbage).
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/io.h"
#include "sonde/common/protocol.h"
#include "sonde/common/subprocess.h"

namespace sonde::testing {

inline long mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class AgentClient {
 public:
  // argv defaults to the built agent; tests may wrap it (chroot, unshare).
  explicit AgentClient(std::vector<std::string> argv = {std::string(SONDE_BIN_DIR) + "/sonde-agent",
                                                        "serve"}) {
    SpawnOptions o;
    o.pipe_stderr = true;
    auto c = spawn(argv, o);
    if (c.ok()) child_ = std::move(*c);
  }

  bool started() const { return child_.pid() > 0; }
  pid_t pid() const { return child_.pid(); }

  bool send_raw(const std::string& bytes) { return write_all(child_.in().get(), bytes).ok(); }
  bool send(const json& msg) {
    auto f = encode_frame(msg);
    return f.ok() && send_raw(*f);
  }
  void close_stdin() { child_.in().reset(); }

  // Next decoded message, or nullopt on timeout/EOF/garbage.
  std::optional<json> recv(int timeout_ms = 5000) {
    long deadline = mono_ms() + timeout_ms;
    for (;;) {
      auto f = dec_.next();
      if (!f.ok()) return std::nullopt;
      if (f->has_value()) return **f;
      long left = deadline - mono_ms();
      if (left <= 0 || eof_) return std::nullopt;
      auto r = wait_readable(child_.out().get(), static_cast<int>(left));
      if (!r.ok() || !*r) return std::nullopt;
      char buf[65536];
      auto n = read_some(child_.out().get(), buf, sizeof buf);
      if (!n.ok() || *n == 0) {
        eof_ = true;
        continue;
      }
      dec_.feed(buf, *n);
    }
  }

  // Skips events; returns the final message of request id.
  std::optional<json> recv_final(uint64_t id, int timeout_ms = 5000,
                                 std::vector<json>* events = nullptr) {
    long deadline = mono_ms() + timeout_ms;
    for (;;) {
      long left = deadline - mono_ms();
      if (left <= 0) return std::nullopt;
      auto m = recv(static_cast<int>(left));
      if (!m) return std::nullopt;
      if ((*m)["id"] != id) {
        pending_.push_back(*m);
        continue;
      }
      if ((*m)["kind"] == "event") {
        if (events) events->push_back(*m);
        continue;
      }
      return m;
    }
  }

  // Waits for the agent to exit; returns its wait status or nullopt.
  std::optional<int> wait_exit(int timeout_ms) { return child_.wait(timeout_ms); }
  bool at_eof(int timeout_ms) {
    auto m = recv(timeout_ms);
    return !m && eof_;
  }
  long rss_kb() {
    auto s = read_file("/proc/" + std::to_string(child_.pid()) + "/status");
    if (!s.ok()) return -1;
    auto p = s->find("VmRSS:");
    return p == std::string::npos ? -1 : std::stol(s->substr(p + 6));
  }
  std::vector<json> pending_;

 private:
  Child child_;
  FrameDecoder dec_;
  bool eof_ = false;
};

}  // namespace sonde::testing
