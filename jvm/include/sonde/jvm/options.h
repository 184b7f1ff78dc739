// What a JVM's command line (or its hsperfdata vmArgs) says about it: main
// class or jar, heap settings, a JDWP agent and its address, JMX ports, and
// attach being disabled. Pure text parsing, unit-tested on real command lines.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sonde/jvm/list_contract.h"  // JdwpAgent, JmxOptions and their JSON

namespace sonde::jvm {

struct JvmOptions {
  std::string main;       // main class, "-jar X", module/class, or source file
  std::string main_kind;  // class | jar | module | source | ""
  std::vector<std::string> app_args;
  std::vector<std::string> jvm_args;  // options before the main
  std::string xmx, xms;               // as written: "512m"
  std::optional<unsigned long long> max_heap_bytes, initial_heap_bytes;
  std::optional<JdwpAgent> jdwp;
  JmxOptions jmx;
  bool attach_disabled = false;  // -XX:+DisableAttachMechanism
  bool reduce_signals = false;   // -Xrs / -XX:+ReduceSignalUsage
};

// argv[0] is the launcher (java); everything after the main are the
// application's arguments and are not read as JVM options.
JvmOptions parse_java_command_line(const std::vector<std::string>& argv);

// Adds options from a whitespace-separated option string (JAVA_TOOL_OPTIONS,
// hsperfdata's java.rt.vmArgs) to o. Later options win, as in the JVM.
void apply_jvm_option_string(JvmOptions& o, const std::string& text);
void apply_jvm_option(JvmOptions& o, const std::string& arg);

// "transport=dt_socket,server=y,address=*:5005" → the agent's settings.
JdwpAgent parse_jdwp_options(const std::string& spec);

// "512m" / "2G" / "1048576" → bytes; nullopt when not a size.
std::optional<unsigned long long> parse_java_size(const std::string& text);

}  // namespace sonde::jvm
