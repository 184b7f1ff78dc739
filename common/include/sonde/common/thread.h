// Starting a thread on a host that may have none to give. std::thread throws
// std::system_error when clone fails (EAGAIN at the user's RLIMIT_NPROC or
// kernel.threads-max, ENOMEM): in the agent that must be an error the
// controller can show, never an abort that leaves tracees behind.
#pragma once

#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "sonde/common/result.h"

namespace sonde {

// The error for a thread `what` that could not be started.
Error thread_error(const std::string& what, const std::system_error& e);

// The hint for EAGAIN from fork, clone or posix_spawn: the host gave no
// process or thread.
std::string no_task_hint();

template <typename F>
Result<std::thread> start_thread(const std::string& what, F&& fn) {
  try {
    return std::thread(std::forward<F>(fn));
  } catch (const std::system_error& e) {
    return thread_error(what, e);
  }
}

}  // namespace sonde
