#include <sched.h>

#include <cstring>

#include "tracer_internal.h"

namespace sonde::ptrace {

void Colocator::start() {
  ::sched_getaffinity(0, sizeof tracer_mask_, &tracer_mask_);
  cpu_ = ::sched_getcpu();
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu_, &one);
  if (cpu_ < 0 || ::sched_setaffinity(0, sizeof one, &one) != 0) {
    notes_.push_back("colocate: could not pin the tracer; tracing without it");
    cpu_ = -1;
  }
}

// Tells the watchdog tid's mask before it changes, so a dead agent's pin
// is undone too. False: leave tid alone (no watchdog, or tid is gone).
bool Colocator::register_mask(pid_t tid, const cpu_set_t& m) {
  uint64_t words[sizeof(cpu_set_t) / 8];
  std::memcpy(words, &m, sizeof words);
  size_t n = std::size(words);
  while (n > 1 && words[n - 1] == 0) --n;
  auto ch = undo::register_change(undo::kAffinity, tid,
                                  {{"mask", std::vector<uint64_t>(words, words + n)}});
  if (!ch) {
    if (ch.error().code != errc::kNotFound) {
      notes_.push_back("colocate: " + ch.error().message);
      restore();  // what was pinned goes back; nothing more is pinned
    }
    return false;
  }
  pinned_[tid] = std::move(*ch);
  return true;
}

void Colocator::pin(pid_t tid) {
  if (cpu_ < 0) return;
  if (!saved_masks_.count(tid)) {
    cpu_set_t m;
    if (::sched_getaffinity(tid, sizeof m, &m) != 0) return;
    saved_masks_[tid] = m;
  }
  if (!pinned_.count(tid) && !register_mask(tid, saved_masks_[tid])) return;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu_, &one);
  ::sched_setaffinity(tid, sizeof one, &one);
}

void Colocator::inherit(pid_t parent, pid_t child) {
  auto m = saved_masks_.find(parent);
  if (m == saved_masks_.end() || saved_masks_.count(child)) return;
  saved_masks_[child] = m->second;
  // The kernel pinned it before we heard of it: register at once, while it
  // still waits in its first stop.
  if (cpu_ >= 0) (void)register_mask(child, m->second);
}

void Colocator::restore() {
  if (cpu_ < 0) return;
  // Threads born while pinned inherited the one-CPU mask: give them their
  // process's original mask.
  for (auto [tid, tgid] : tasks_()) {
    auto it = saved_masks_.find(tid);
    if (it == saved_masks_.end()) it = saved_masks_.find(tgid);
    if (it != saved_masks_.end()) ::sched_setaffinity(tid, sizeof it->second, &it->second);
  }
  for (auto& [tid, m] : saved_masks_) ::sched_setaffinity(tid, sizeof m, &m);  // ESRCH: gone
  ::sched_setaffinity(0, sizeof tracer_mask_, &tracer_mask_);
  pinned_.clear();  // undone: the watchdog forgets them
  cpu_ = -1;
}

}  // namespace sonde::ptrace
