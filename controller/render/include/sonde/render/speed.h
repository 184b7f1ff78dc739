// Text for `sonde speed`: the table of paths (direct, ssh) and directions
// with rate, retransmits, round trips and the sender's tcp_info; the live
// per-interval line.
#pragma once

#include <string>

#include "sonde/net/speed.h"
#include "sonde/net/speed_report.h"

namespace sonde::render {

std::string render_speed(const net::SpeedReport& r);

std::string render_speed_interval(const std::string& label, const net::SpeedInterval& iv);

}  // namespace sonde::render
