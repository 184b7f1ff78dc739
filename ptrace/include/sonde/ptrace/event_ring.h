// The live trace's hand-off: a preallocated single-producer single-consumer
// ring of TraceEvent slots. The tracer thread (producer) holds a tracee in a
// ptrace stop while it writes an event, so claiming a slot takes no lock and
// allocates nothing; when the ring or its byte budget is full the event is
// dropped and counted (the link is slower than the target). The sender
// thread (consumer) takes events in batches and encodes them off the
// tracer's path.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "sonde/ptrace/event.h"

namespace sonde::ptrace {

class EventRing {
 public:
  // slots: a power of two. max_bytes bounds the events' wire size in flight.
  explicit EventRing(size_t slots = 4096, size_t max_bytes = 4u << 20, size_t batch = 256);
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;

  // Producer. A slot to fill (reset to type t and pid), or nullptr when full
  // (counted in lost()). Every claim is followed by publish().
  TraceEvent* claim(TraceEvent::Type t, pid_t pid);
  // Makes the claimed slot visible to the consumer; false when the byte
  // budget is full (the event is dropped and counted in lost()).
  bool publish();

  // Consumer. Waits until a batch is ready, `wait` passed or the ring is
  // closed, then hands up to one batch to fn and frees their slots. Returns
  // false once closed and drained.
  bool take(const std::function<void(TraceEvent&)>& fn,
            std::chrono::milliseconds wait = std::chrono::milliseconds(100));
  // No more events will come (producer side is done).
  void close();

  uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }

 private:
  std::vector<TraceEvent> slots_;
  const size_t mask_;
  const size_t max_bytes_;
  const size_t batch_;
  std::vector<size_t> sizes_;  // wire size of each published slot
  // head_: next slot the producer fills; tail_: next the consumer reads.
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
  std::atomic<size_t> bytes_{0};
  std::atomic<uint64_t> lost_{0};
  std::atomic<bool> closed_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace sonde::ptrace
