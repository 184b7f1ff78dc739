// sonde ps TARGET: the target's processes with %CPU over a short interval.
#include <sys/ioctl.h>
#include <unistd.h>

#include "../cli/command.h"
#include "sonde/common/io.h"
#include "sonde/proc/ps_contract.h"
#include "sonde/render/ps.h"

namespace sonde::controller {

CommandSpec ps_command() {
  CommandSpec c;
  c.name = "ps";
  // The table's columns, in its order (render/ps.cpp); --json adds ppid, uid
  // and comm.
  c.summary =
      "list processes: pid, user, %CPU (measured), %MEM, RSS, threads, state, start, command";
  c.synopsis =
      "ps TARGET [--user U] [--name REGEX [--include-sonde]] [--sort cpu|mem|pid] "
      "[--interval 100ms] [--limit N]";
  c.options = [](po::options_description& o) {
    o.add_options()("user,u", po::value<std::string>(),
                    "only processes of this user (name or uid)")(
        "name,n", po::value<std::string>(),
        "only processes whose name or command line matches this regex; sonde's own (the agent, "
        "this command) are left out")(
        "include-sonde", po::bool_switch(),
        "with --name: keep sonde's own processes (the agent, sonde commands) in the list")(
        "sort,s", po::value<std::string>()->default_value("cpu"),
        "sort by cpu (%CPU), mem (RSS) or pid")(
        "interval", po::value<std::string>()->default_value("100ms"),
        "how long %CPU is measured over; 0 = average over the process lifetime (like ps aux)")(
        "limit", po::value<long>()->default_value(0), "show at most N processes (0 = all)");
  };
  c.run = [](CommandContext& ctx) -> int {
    proc::PsArgs args;
    if (ctx.vm.count("user")) args.user = ctx.vm["user"].as<std::string>();
    if (ctx.vm.count("name")) args.name = ctx.vm["name"].as<std::string>();
    // `ps --name X` looks for X, not for the sonde command that names it.
    args.hide_sonde = !args.name.empty() && !ctx.vm["include-sonde"].as<bool>();
    args.sort = ctx.vm["sort"].as<std::string>();
    auto iv = parse_duration_ms(ctx.vm["interval"].as<std::string>());
    if (!iv)
      return ctx.fail(Error{errc::kBadArgs, "--interval is not a duration", "e.g. 100ms, 1s, 0"});
    args.interval_ms = *iv;
    args.limit = ctx.vm["limit"].as<long>();
    if (auto st = proc::validate(args); !st) return ctx.fail(st.error());
    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    auto r = (*s)->call("ps", proc::to_json(args));
    if (!r) return ctx.fail(r.error());
    auto result = proc::ps_result_from_json(*r);
    if (!result) return ctx.fail(result.error());
    if (ctx.g.json) {
      ctx.print_result_json(proc::to_json(*result), **s);
    } else {
      std::fputs(render::render_ps_text(*result, ctx.terminal_width()).c_str(), ctx.out);
    }
    return exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
