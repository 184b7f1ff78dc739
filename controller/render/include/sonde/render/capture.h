// Text for `sonde capture`: what was captured where, the kernel's counts,
// the TCP and UDP flow tables, DNS queries with their answers, and notes.
// Shapes in sonde/net/capture.h and sonde/net/flows.h.
#pragma once

#include <string>

#include "sonde/common/frame.h"

namespace sonde::render {

// file: where the pcap went ("" or "-": no "wrote" line).
std::string render_capture(const sonde::json& result, const std::string& file);

}  // namespace sonde::render
