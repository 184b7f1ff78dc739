// Text rendering of a `stack` result, laid out like eu-stack -s: one block
// per thread, numbered frames with address, function+offset and module, the
// source line beneath each frame that has one.
#pragma once

#include <string>

#include "sonde/profiler/profile.h"

namespace sonde::render {

std::string render_stack_dump(const sonde::profiler::StackDump& d);

}  // namespace sonde::render
