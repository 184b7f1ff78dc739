#include "pick.h"

#include <fmt/format.h>

#include "sonde/proc/ps_contract.h"

namespace sonde::controller {

Result<int> pick_process(Session& s, const std::string& regex) {
  proc::PsArgs args;
  args.name = regex;
  args.interval_ms = 0;  // only the list: no %CPU sampling
  args.sort = "pid";
  auto ps = call_checked(s, "ps", proc::to_json(args), proc::ps_result_from_json);
  if (!ps) return ps.error();
  const proc::PsRow* oldest = nullptr;
  for (const auto& p : ps->processes) {
    // Never sonde itself: the agent, or a controller whose own command line
    // holds the regex (`sonde stack local --pgrep X` on the host it runs on).
    if (p.pid == s.agent_pid() || p.comm == "sonde" || p.comm == "sonde-agent") continue;
    if (!oldest || p.start_time < oldest->start_time ||
        (p.start_time == oldest->start_time && p.pid < oldest->pid))
      oldest = &p;
  }
  if (!oldest)
    return Error{errc::kNotFound, fmt::format("no process matches --pgrep '{}'", regex),
                 fmt::format("list them with: sonde ps {} --name '{}'", s.host(), regex)};
  return oldest->pid;
}

std::optional<Error> one_process_option(const po::variables_map& vm, const std::string& usage) {
  if ((vm.count("pgrep") > 0) == (vm.count("pid") > 0))
    return Error{errc::kBadArgs,
                 "which process? give its pid (-p PID) or --pgrep REGEX, one of them", usage};
  return std::nullopt;
}

Result<std::optional<int>> pgrep_pid(const po::variables_map& vm, Session& s) {
  if (!vm.count("pgrep")) return std::optional<int>{};
  auto picked = pick_process(s, vm["pgrep"].as<std::string>());
  if (!picked) return picked.error();
  return std::optional<int>{*picked};
}

}  // namespace sonde::controller
