// `inspect`: one process in depth — identity, threads, limits, memory,
// cgroups, namespaces, open fds with their sockets, optionally environment.
#pragma once

#include "sonde/common/result.h"
#include "sonde/proc/inspect_contract.h"

namespace sonde::proc {

struct InspectOptions {
  bool env = false;
};

// Unknown pid -> errc::kNotFound "no process 4242" with hint "list processes
// with `sonde ps TARGET`". Parts it cannot read (permission, process gone
// mid-read) become a partial result with entries in notes, never a failure
// unless nothing at all could be read. At most kMaxThreads threads.
Result<InspectResult> inspect_process(int pid, const InspectOptions& opts);

}  // namespace sonde::proc
