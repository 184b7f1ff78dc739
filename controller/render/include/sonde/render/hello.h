// Text for `sonde hello`: who and where the agent runs and what it may do.
#pragma once

#include <optional>
#include <string>

#include "sonde/common/clock.h"
#include "sonde/common/hello_contract.h"

namespace sonde::render {

// One line each: host, transport, agent, user, ptrace, perf_event, capture,
// JDK tools, gdbserver, and the clock when it was measured (with a warning
// line when it is over kClockWarnNs off). transport: how the controller
// reached the agent.
std::string render_hello(const Capabilities& c, const std::string& transport,
                         const std::optional<ClockOffset>& clock = std::nullopt);

}  // namespace sonde::render
