// What this host lets the agent do, reported in `hello` so the controller can
// pick a method (ptrace vs perf_event, capture or not) and say why.
#pragma once

#include "sonde/common/frame.h"

namespace sonde::agent {

json probe_capabilities();

}  // namespace sonde::agent
