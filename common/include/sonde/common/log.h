// Logging goes to stderr only: the agent's stdout carries protocol frames.
#pragma once

#include <spdlog/spdlog.h>

namespace sonde {

// verbosity: 0 = warnings, 1 = info, 2 = debug, 3+ = trace.
// The SONDE_LOG environment variable (e.g. "debug") overrides it.
void setup_logging(const char* program, int verbosity);

}  // namespace sonde
