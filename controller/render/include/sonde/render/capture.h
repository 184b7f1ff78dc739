// Text for `sonde capture`: what was captured where, the kernel's counts,
// the TCP and UDP flow tables, DNS queries with their answers, and notes.
#pragma once

#include <string>

#include "sonde/net/capture_contract.h"

namespace sonde::render {

// file: where the pcap went ("" or "-": no "wrote" line).
std::string render_capture(const net::CaptureResult& r, const std::string& file);

}  // namespace sonde::render
