// Cooperative cancellation for agent work: set by a `cancel` message, by the
// controller going away (EOF on stdin) or by a signal. Long-running work polls
// it, and sleeps through it so a cancel wakes the sleeper at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace sonde {

class CancelToken {
 public:
  void cancel() {
    {
      std::lock_guard<std::mutex> g(mu_);
      cancelled_.store(true);
    }
    cv_.notify_all();
  }
  bool cancelled() const { return cancelled_.load(); }

  // Sleeps up to ms; returns false if cancelled before or during the sleep.
  bool sleep_for(long ms) {
    std::unique_lock<std::mutex> l(mu_);
    return !cv_.wait_for(l, std::chrono::milliseconds(ms), [&] { return cancelled_.load(); });
  }

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace sonde
