// Naming a process by what it is rather than by its pid, for commands run
// over many hosts where every host has its own pid (`stack web[01-40]
// --pgrep java`).
#pragma once

#include <string>
#include <vector>

#include "../session.h"
#include "command.h"
#include "sonde/common/result.h"
#include "sonde/proc/ps_contract.h"

namespace sonde::controller {

// The oldest process whose name or command line matches the regex, as
// `pgrep -o -f` picks it; errc::kNotFound naming the regex when none does.
// sonde's own processes (the agent, a controller) never count.
Result<int> pick_process(Session& s, const std::string& regex);

// The help of --pgrep, for the commands that take it beside -p.
inline constexpr const char* kPgrepHelp =
    "the oldest process whose name or command line matches REGEX (like pgrep -o -f): the same "
    "process on every host of a fleet, whatever its pid";

// sonde itself: the session's agent, an agent or a controller (whose own
// command line holds the regex of `sonde stack local --pgrep X`).
bool is_sonde(const proc::PsRow& p, const Session& s);

// For a command that takes one process: exactly one of -p and --pgrep, else
// errc::kBadArgs with `usage` as the hint.
std::optional<Error> one_process_option(const po::variables_map& vm, const std::string& usage);

// -p values as strace takes them: "-p 1 -p 2", "-p 1,2" and "-p '1 2'"
// (pidof output); errc::kBadArgs for anything that is not a pid.
Result<std::vector<int>> parse_pid_list(const std::vector<std::string>& raw);

// With --pgrep, the pid it picks on this session's host; nullopt without it.
Result<std::optional<int>> pgrep_pid(const po::variables_map& vm, Session& s);

}  // namespace sonde::controller
