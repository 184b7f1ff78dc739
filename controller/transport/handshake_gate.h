// A cap on SSH handshakes in flight, for a fleet run: sshd refuses new
// connections past MaxStartups (default 10:30:100: it starts dropping at 10
// unauthenticated ones), so a run over many hosts holds at most `total`
// handshakes open at once, and at most `per_jump` through any one jump host.
// A connection takes a slot before its TCP connect and gives it back once it
// is authenticated or has failed.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

namespace sonde::controller {

class HandshakeGate {
 public:
  HandshakeGate(int total, int per_jump) : total_(total), per_jump_(per_jump) {}

  // Blocks until a slot is free for `jump` ("" for a direct connection).
  // Returns false when stop() says to give up (Ctrl-C, the run's deadline).
  template <typename Stop>
  bool acquire(const std::string& jump, Stop stop) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (in_flight_ < total_ && (jump.empty() || per_jump_in_flight_[jump] < per_jump_)) break;
      if (stop()) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    ++in_flight_;
    if (!jump.empty()) ++per_jump_in_flight_[jump];
    if (in_flight_ > peak_) peak_ = in_flight_;
    return true;
  }

  void release(const std::string& jump) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --in_flight_;
      if (!jump.empty() && --per_jump_in_flight_[jump] == 0) per_jump_in_flight_.erase(jump);
    }
    cv_.notify_all();
  }

  // The most handshakes that were in flight at once.
  int peak() const {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int total_, per_jump_;
  int in_flight_ = 0, peak_ = 0;
  std::map<std::string, int> per_jump_in_flight_;
};

}  // namespace sonde::controller
