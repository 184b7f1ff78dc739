// printf into a string, for the renderers of the network checks: their
// columns are printf's (%-8s pads by bytes; fmt pads by code points), and
// the output must stay as it was when the commands printed it themselves.
#pragma once

#include <string>

namespace sonde::render {

void appendf(std::string& out, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace sonde::render
