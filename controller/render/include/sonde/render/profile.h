// Text rendering of a `profile` result: what was sampled and how, then the
// top functions by self time (perf report's view, one line per function).
#pragma once

#include <cstddef>
#include <string>

#include "sonde/profiler/profile.h"

namespace sonde::render {

// A header (sampler and why, mode, rate, duration, samples, lost, threads,
// notes) and a SELF% SELF TOTAL% TOTAL FUNCTION table of the top_n functions.
std::string render_profile_summary(const sonde::profiler::Profile& p, size_t top_n);

}  // namespace sonde::render
