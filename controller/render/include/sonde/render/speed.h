// Text for `sonde speed`: the table of paths (direct, ssh) and directions
// with rate, retransmits, round trips and the sender's tcp_info; the live
// per-interval line; the progress line on stderr and each test's last line.
#pragma once

#include <optional>
#include <string>

#include "sonde/net/speed.h"
#include "sonde/net/speed_report.h"

namespace sonde::render {

std::string render_speed(const net::SpeedReport& r);

std::string render_speed_interval(const std::string& label, const net::SpeedInterval& iv);

// Where one test is, for the progress line.
struct SpeedLive {
  std::string label;  // "direct upload"
  long duration_ms = 0;
  long rtt_count = 0;
  std::string step;  // what it waits for before its connection is up
  // Each end's latest progress: the controller's loop, the agent's events.
  std::optional<net::SpeedProgress> mine, agent;
};
// "sonde: direct upload: 3 s of 10 s, 2.8G sent, 23.10 Gbit/s; agent at 2 s:
// 1.9G received, 22.90 Gbit/s", or the round trips so far, or the step.
std::string render_speed_progress(const SpeedLive& l);
// A test's last line: "sonde: direct upload: 23.50 Gbit/s, 11G in 10.0 s",
// or why it failed.
std::string render_speed_done(const net::SpeedPath& p);

}  // namespace sonde::render
