#include "pick.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>

#include "sonde/proc/ps_contract.h"

namespace sonde::controller {

Result<std::vector<int>> parse_pid_list(const std::vector<std::string>& raw) {
  auto bad = [](std::string msg) { return Error{errc::kBadArgs, std::move(msg), "e.g. -p 1234"}; };
  std::vector<int> pids;
  for (const auto& r : raw) {
    std::string tok;
    auto flush = [&]() -> Status {
      if (tok.empty()) return ok_status();
      char* end = nullptr;
      errno = 0;
      long v = std::strtol(tok.c_str(), &end, 10);
      if (errno || *end || v <= 0 || v > INT32_MAX)
        return bad("-p `" + tok + "` is not a process id");
      pids.push_back(static_cast<int>(v));
      tok.clear();
      return ok_status();
    };
    for (char c : r) {
      if (c == ',' || c == ' ' || c == '\t' || c == '\n') {
        if (auto st = flush(); !st.ok()) return st.error();
      } else {
        tok += c;
      }
    }
    if (auto st = flush(); !st.ok()) return st.error();
  }
  if (pids.empty() && !raw.empty()) return bad("-p needs a process id");
  return pids;
}

bool is_sonde(const proc::PsRow& p, const Session& s) {
  return p.pid == s.agent_pid() || p.comm == "sonde" || p.comm == "sonde-agent";
}

Result<int> pick_process(Session& s, const std::string& regex) {
  proc::PsArgs args;
  args.name = regex;
  args.interval_ms = 0;  // only the list: no %CPU sampling
  args.sort = "pid";
  auto ps = call_checked(s, "ps", proc::to_json(args), proc::ps_result_from_json);
  if (!ps) return ps.error();
  const proc::PsRow* oldest = nullptr;
  for (const auto& p : ps->processes) {
    if (is_sonde(p, s)) continue;
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
