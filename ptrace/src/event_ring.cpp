#include "sonde/ptrace/event_ring.h"

namespace sonde::ptrace {

EventRing::EventRing(size_t slots, size_t max_bytes, size_t batch)
    : slots_(slots), mask_(slots - 1), max_bytes_(max_bytes), batch_(batch), sizes_(slots) {
  // Room for typical lines up front, so the tracer thread does not grow them.
  for (auto& s : slots_) {
    s.args_text.reserve(128);
    s.ret_text.reserve(32);
  }
}

TraceEvent* EventRing::claim(TraceEvent::Type t, pid_t pid) {
  uint64_t head = head_.load(std::memory_order_relaxed);
  if (head - tail_.load(std::memory_order_acquire) >= slots_.size()) {
    lost_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  TraceEvent* e = &slots_[head & mask_];
  e->reset(t, pid);
  return e;
}

bool EventRing::publish() {
  uint64_t head = head_.load(std::memory_order_relaxed);
  size_t sz = slots_[head & mask_].wire_size();
  if (bytes_.load(std::memory_order_relaxed) + sz > max_bytes_) {
    lost_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  sizes_[head & mask_] = sz;
  bytes_.fetch_add(sz, std::memory_order_relaxed);
  head_.store(head + 1, std::memory_order_release);
  // Wake the sender once per batch; between batches it wakes on its own
  // (take's wait), so the tracer thread rarely touches the lock.
  if ((head + 1 - tail_.load(std::memory_order_acquire)) == batch_) {
    std::lock_guard<std::mutex> g(mu_);
    cv_.notify_one();
  }
  return true;
}

bool EventRing::take(const std::function<void(TraceEvent&)>& fn, std::chrono::milliseconds wait) {
  {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, wait, [&] {
      return closed_.load() ||
             head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_relaxed) >=
                 batch_;
    });
  }
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  uint64_t head = head_.load(std::memory_order_acquire);
  size_t n = static_cast<size_t>(std::min<uint64_t>(head - tail, batch_));
  size_t freed = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t at = (tail + i) & mask_;
    fn(slots_[at]);
    freed += sizes_[at];
  }
  bytes_.fetch_sub(freed, std::memory_order_relaxed);
  tail_.store(tail + n, std::memory_order_release);
  return !(closed_.load() && n == 0 && head_.load(std::memory_order_acquire) == tail + n);
}

void EventRing::close() {
  {
    std::lock_guard<std::mutex> g(mu_);
    closed_ = true;
  }
  cv_.notify_one();
}

}  // namespace sonde::ptrace
