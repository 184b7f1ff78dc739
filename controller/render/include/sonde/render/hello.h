// Text for `sonde hello`: who and where the agent runs and what it may do.
#pragma once

#include <string>

#include "sonde/common/hello_contract.h"

namespace sonde::render {

// One line each: host, transport, agent, user, ptrace, perf_event, capture,
// JDK tools, gdbserver. transport: how the controller reached the agent.
std::string render_hello(const Capabilities& c, const std::string& transport);

}  // namespace sonde::render
