// sonde inspect TARGET -p PID: one process from the inside.
#include "sonde/render/inspect.h"
#include "../cli/command.h"
#include "../cli/pick.h"
#include "sonde/proc/inspect_contract.h"
#include "sonde/render/table.h"

namespace sonde::controller {

CommandSpec inspect_command() {
  CommandSpec c;
  c.name = "inspect";
  c.summary =
      "one process: exe, cmdline, cwd, user, threads+wchan, limits, memory, cgroup, "
      "namespaces, open fds with sockets resolved";
  c.synopsis = "inspect TARGET (-p PID | --pgrep REGEX) [--env]";
  c.options = [](po::options_description& o) {
    o.add_options()("pid,p", po::value<long>(), "the process to inspect")(
        "pgrep", po::value<std::string>(), kPgrepHelp)(
        "env", po::bool_switch(), "also show its environment (values may hold secrets)");
  };
  c.run = [](CommandContext& ctx) -> int {
    if (auto e = one_process_option(ctx.vm, "sonde inspect TARGET -p PID")) return ctx.fail(*e);
    const bool by_name = ctx.vm.count("pgrep") > 0;
    // Replaced by the picked pid once connected.
    long pid = by_name ? 1 : ctx.vm["pid"].as<long>();
    // The wire's pid is an int; validate() judges the rest.
    if (pid < INT32_MIN || pid > INT32_MAX)
      return ctx.fail(Error{errc::kBadArgs, fmt::format("-p {} is not a process id", pid),
                            "sonde inspect TARGET -p PID"});
    proc::InspectArgs args{static_cast<int>(pid), ctx.vm["env"].as<bool>()};
    if (auto st = proc::validate(args); !st) return ctx.fail(st.error());
    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    auto picked = pgrep_pid(ctx.vm, **s);
    if (!picked) return ctx.fail(picked.error());
    if (*picked) args.pid = **picked;
    auto r = (*s)->call("inspect", proc::to_json(args));
    if (!r) {
      Error e = r.error();
      if (e.code == errc::kNotFound && e.hint.empty())
        e.hint =
            "list processes with `sonde ps " + (ctx.target.empty() ? "TARGET" : ctx.target) + "`";
      return ctx.fail(e);
    }
    auto result = proc::inspect_result_from_json(*r);
    if (!result) return ctx.fail(result.error());
    if (ctx.g.json)
      ctx.print_result_json(proc::to_json(*result), **s);
    else
      std::fputs(render::render_inspect_text(*result).c_str(), ctx.out);
    // A partial result: what was refused, and why, where errors are said.
    if (result->denied)
      ctx.warn(render::terminal_safe(render::denied_text(*result->denied)),
               render::terminal_safe(result->denied->hint));
    return exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
