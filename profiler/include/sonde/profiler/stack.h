// `sonde stack`: every thread's stack, like eu-stack or gdb's
// `thread apply all bt`. Each thread is stopped only while its registers and
// stack are copied; unwinding and symbolization run after it is released.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "sonde/common/cancel.h"
#include "sonde/common/result.h"
#include "sonde/profiler/profile.h"
#include "sonde/profiler/symbolizer.h"

namespace sonde::profiler {

struct StackOptions {
  size_t max_frames = 256;
  size_t stack_bytes = 512 * 1024;  // copied per thread, from sp upwards
  int stop_timeout_ms = 300;        // a thread that does not stop by then is in D state
  // Bounds for a process with thousands of threads. Threads past max_threads
  // (the main thread, then the lowest tids) or past the dump's size on the
  // wire are counted in StackDump::threads_more; once all_stacks_bytes have been copied, each
  // further thread gets its top 64 KiB only.
  size_t max_threads = 10000;
  size_t budget_bytes = 8u << 20;
  size_t all_stacks_bytes = 256u << 20;
};

// Errors: no such process (kNotFound), ptrace refused (kPermission, with the
// hint). Threads that exit meanwhile are listed with an error, not failed.
Result<StackDump> dump_stacks(pid_t pid, const StackOptions& o, Symbolizer& sym,
                              CancelToken* cancel = nullptr);

}  // namespace sonde::profiler
