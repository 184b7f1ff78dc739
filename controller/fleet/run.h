// `sonde CMD TARGETS` over a fleet: resolves the targets, runs the command on
// each through the engine (engine.h), and prints one merged view, a summary
// of failures by class, and (--log-dir) one JSON line per host that
// `sonde merge` reads back.
#pragma once

#include <string>
#include <vector>

#include "cli/command.h"
#include "fleet/engine.h"

namespace sonde::controller::fleet {

struct FleetOptions {
  std::string inventory;             // --inventory FILE
  std::vector<std::string> exclude;  // -x
  int fanout = 64;                   // --fanout
  long deadline_ms = 0;              // --deadline; 0: none
  std::string log_dir;               // --log-dir
  std::string k8s;                   // --k8s [NS/]SELECTOR
  std::string k8s_agent;             // --k8s-agent; "": kK8sAgentPath
  std::string k8s_container;         // --k8s-container
};

// TARGET names a set of hosts: a comma list, a range, @FILE, or anything
// with --inventory. One plain host is not a fleet.
bool is_fleet_target(const std::string& target, const FleetOptions& fo);

int run_fleet(const CommandSpec& spec, CommandContext& ctx, const FleetOptions& fo);

// One host's outcome as a fleet run keeps it (and --log-dir writes it).
struct HostRecord {
  std::string host;     // the HOST column
  std::string target;   // what was connected to
  std::string command;  // the command's name
  bool ok = false;
  std::string failure;  // failure_name(); "" when ok
  int exit_code = 0;
  std::optional<Error> error;
  long started_ms = 0, ended_ms = 0;
  std::optional<ClockOffset> clock;  // the host's clock against this machine's
  PackedJson result;                 // the command's JSON result, when it ran with --json
  std::string output;                // its text output otherwise
  std::string errors;                // what it wrote to stderr
};

json to_json(const HostRecord& r);
Result<HostRecord> host_record_from_json(const json& j);

// The merged view of finished hosts on out, notes and the failure summary on
// err. Returns the fleet exit code for these records.
int print_fleet(const std::string& command, const std::vector<HostRecord>& records, bool as_json,
                CommandContext& ctx, long wall_ms, bool interrupted);

// `sonde merge DIR...`: the hosts.jsonl of each DIR (from --log-dir, e.g. one
// per Ansible group), printed as one fleet run.
CommandSpec merge_command();

}  // namespace sonde::controller::fleet
