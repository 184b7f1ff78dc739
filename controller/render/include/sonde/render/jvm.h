// Text for `sonde jvm ...` results, and readers for the output of the JDK's
// own `jfr` tool, which summarises the recordings sonde fetches.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/jvm/attach_contract.h"
#include "sonde/jvm/jfr_contract.h"
#include "sonde/jvm/jmx_contract.h"
#include "sonde/jvm/list_contract.h"

namespace sonde::render {

// The jvm.list result as a table plus its notes; term_width cuts MAIN.
std::string render_jvm_list(const jvm::JvmListResult& result, int term_width = 0);

// A jvm.attach command's text as the JVM wrote it (terminal-safe), and a
// line saying how much was left out when the reply was capped.
std::string render_jvm_attach(const jvm::JvmAttachResult& result);

// "2m03s", "3h04m", "5d02h".
std::string format_uptime(double seconds);

// `jfr summary FILE`: the event table's rows (type, count), largest first;
// empty when the text has no table.
std::vector<std::pair<std::string, long long>> parse_jfr_summary(std::string_view text);

// `jfr print --events jdk.ExecutionSample FILE`: the top frame of each
// sample counted by method, largest first, at most top entries.
std::vector<std::pair<std::string, long long>> hottest_methods(std::string_view text, size_t top);

// What the JDK's `jfr` tool here says about a fetched recording.
struct JfrSummary {
  std::optional<std::string> tool;  // nullopt: no local `jfr` tool
  std::optional<std::string> note;  // why there is less than asked for
  // (type, count) from `jfr summary`, when it read the file.
  std::optional<std::vector<std::pair<std::string, long long>>> events;
  // (method, samples) from the execution samples, when they could be printed.
  std::optional<std::vector<std::pair<std::string, long long>>> hottest;
};
// {"tool", "note", "events": [{"type", "count"}], "hottest": [{"method", "samples"}]}.
json to_json(const JfrSummary& s);

// `sonde jvm jfr`: what was recorded and fetched into file, the top events
// and hottest methods.
std::string render_jfr(const jvm::JfrResult& result, const JfrSummary& summary,
                       const std::string& file);

// `sonde jvm jmx`: a JMX agent started for this session and forwarded to
// local_port here, with the URL, the login and how to connect.
std::string render_jmx_started(const jvm::JmxStarted& s, const std::string& host, int local_port);
// A remote connector that was already running; target: the command line's.
std::string render_jmx_already_running(const jvm::JmxAlreadyRunning& r, const std::string& target);

// `sonde jvm debug`: JVM jvm's JDWP port forwarded from local_port here to
// remote_host:remote_port on host, how to attach each debugger, and notes.
std::string render_jdwp_forward(const jvm::JvmInfo& jvm, const std::string& host, int local_port,
                                const std::string& remote_host, int remote_port,
                                const std::vector<std::string>& notes);

// A JVM's text output (thread dump, flags, properties) made terminal-safe
// line by line, keeping newlines and tabs.
std::string terminal_safe_text(std::string_view text);

}  // namespace sonde::render
