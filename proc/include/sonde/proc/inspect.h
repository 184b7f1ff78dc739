// `inspect`: one process in depth — identity, threads, limits, memory,
// cgroups, namespaces, open fds with their sockets, optionally environment.
#pragma once

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::proc {

struct InspectOptions {
  bool env = false;
};

// Unknown pid -> errc::kNotFound "no process 4242" with hint "list processes
// with `sonde ps TARGET`". Parts it cannot read (permission, process gone
// mid-read) become a partial result with entries in "notes", never a failure
// unless nothing at all could be read.
Result<json> inspect_process(int pid, const InspectOptions& opts);

// Upper bound on threads listed.
inline constexpr size_t kMaxThreads = 10000;

}  // namespace sonde::proc
