// The agent's protocol loop: one reader (this thread) decoding frames from
// the controller, one worker thread per request, one lock around the writer.
// Shutdown on EOF, a protocol error or a signal cancels every request and
// gives the workers a bounded moment to let go of what they hold (tracees).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "handler.h"

namespace sonde::agent {

class Server {
 public:
  Server(int in_fd, int out_fd, int signal_fd);
  // Serves until EOF, a fatal protocol error or a signal. Returns the exit code.
  int run();

  static constexpr size_t kMaxInFlight = 32;
  static constexpr int kShutdownGraceMs = 700;

 private:
  // Writes one message. A message over the frame limit is not written: its
  // encoding error comes back so the caller can answer with something short.
  std::optional<Error> write_message(const json& msg);
  // write_message for messages whose loss we can only log.
  void send(const json& msg);
  void start_request(uint64_t id, const std::string& op, const json& args);
  void cancel_all();
  // The request is answered: no longer in flight (wait_workers sees it).
  void done(uint64_t id);
  void wait_workers(int timeout_ms);

  int in_fd_, out_fd_, signal_fd_;
  Registry registry_;
  std::mutex write_mu_;
  std::atomic<bool> peer_gone_{false};

  std::mutex mu_;
  std::condition_variable workers_done_;
  std::map<uint64_t, std::shared_ptr<CancelToken>> in_flight_;
};

}  // namespace sonde::agent
