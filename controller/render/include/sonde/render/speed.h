// Text for `sonde speed`: the table of paths (direct, ssh) and directions
// with rate, retransmits, round trips and the sender's tcp_info; the live
// per-interval line; the one-line summary (also the --json "summary").
#pragma once

#include <string>

#include "sonde/common/frame.h"
#include "sonde/net/speed.h"

namespace sonde::render {

std::string render_speed(const std::string& label, const std::string& agent_host, long duration_ms,
                         long rtt_count, const sonde::json& paths, const std::string& summary);

std::string render_speed_interval(const std::string& label, const net::SpeedInterval& iv);

// "direct upload 9.41 Gbit/s, rtt median 0.050 ms; ssh n/a (local target)".
std::string speed_summary(const sonde::json& paths);

}  // namespace sonde::render
