// The fallback sampler, and the one wall mode uses: every thread is seized
// (which does not stop it); at each tick each sampled thread is interrupted,
// its registers and one process_vm_readv of its stack copied, and resumed.
// In cpu mode only threads the kernel shows running are sampled; in wall
// mode all are, and a blocked thread's leaf is the syscall it waits in.
// All calls must come from one thread: ptrace attachments belong to it.
#pragma once

#include <sys/types.h>

#include <map>
#include <vector>

#include "collector.h"
#include "sonde/common/result.h"
#include "sonde/ptrace/attachment.h"

namespace sonde::profiler {

class PtraceSampler {
 public:
  PtraceSampler(pid_t pid, bool wall, size_t stack_bytes)
      : pid_(pid), wall_(wall), stack_bytes_(stack_bytes) {}
  ~PtraceSampler() { detach_all(); }

  // Seizes threads not seen yet. Fails only when the main thread cannot be
  // seized (no process, permission, already traced).
  Status scan_threads(Collector& c);
  // One tick: a snapshot of every thread that is due.
  void sample(Collector& c);
  // Between ticks: pass on signals and stops the target gets while seized,
  // so it is never held up for longer than this polling interval.
  void service();
  // Stops, detaches and forgets every thread; safe to call twice.
  void detach_all();
  size_t threads() const { return threads_.size(); }
  bool leader_gone() const { return leader_gone_; }

 private:
  struct Thread {
    ptrace::Attachment att;
    bool pending = false;                 // interrupted, stop not seen yet (uninterruptible sleep)
    long last_syscall = -1;               // what restart_syscall resumes, once we saw it
    uint64_t stack_lo = 0, stack_hi = 0;  // the mapping its sp was last seen in
  };
  void handle_unrequested(pid_t tid, const ptrace::StopResult& st);
  size_t stack_extent(Thread& t, uint64_t sp);

  pid_t pid_;
  bool wall_;
  size_t stack_bytes_;
  std::map<pid_t, Thread> threads_;
  StackBuffer stack_;
  bool leader_gone_ = false;
};

}  // namespace sonde::profiler
