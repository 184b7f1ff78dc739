// /proc/PID/environ: the environment a process was started with (later
// setenv calls in the process do not show here).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace sonde::proc {

// The value of `name` in NUL-separated environ text; nullopt when absent.
std::optional<std::string> environ_value(std::string_view environ, std::string_view name);

// The value of `name` in the nearest of `pid` and up to `max_depth - 1` of its
// ancestors that has it (sudo drops variables the session shell above still
// holds). Nullopt when none has it or the chain cannot be read.
std::optional<std::string> ancestor_environ_value(pid_t pid, std::string_view name, int max_depth);

}  // namespace sonde::proc
