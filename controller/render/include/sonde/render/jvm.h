// Text for `sonde jvm ...` results, and readers for the output of the JDK's
// own `jfr` tool, which summarises the recordings sonde fetches.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sonde/common/frame.h"

namespace sonde::render {

// The jvm.list result as a table plus its notes; term_width cuts MAIN.
std::string render_jvm_list(const json& result, int term_width = 0);

// "2m03s", "3h04m", "5d02h".
std::string format_uptime(double seconds);

// `jfr summary FILE`: the event table's rows (type, count), largest first;
// empty when the text has no table.
std::vector<std::pair<std::string, long long>> parse_jfr_summary(std::string_view text);

// `jfr print --events jdk.ExecutionSample FILE`: the top frame of each
// sample counted by method, largest first, at most top entries.
std::vector<std::pair<std::string, long long>> hottest_methods(std::string_view text, size_t top);

// A JVM's text output (thread dump, flags, properties) made terminal-safe
// line by line, keeping newlines and tabs.
std::string terminal_safe_text(std::string_view text);

}  // namespace sonde::render
