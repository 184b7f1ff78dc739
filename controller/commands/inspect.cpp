// sonde inspect TARGET -p PID: one process from the inside.
#include "sonde/render/inspect.h"
#include "../cli/command.h"

namespace sonde::controller {

CommandSpec inspect_command() {
  CommandSpec c;
  c.name = "inspect";
  c.summary =
      "one process: exe, cmdline, cwd, user, threads+wchan, limits, memory, cgroup, "
      "namespaces, open fds with sockets resolved";
  c.synopsis = "inspect TARGET -p PID [--env]";
  c.options = [](po::options_description& o) {
    o.add_options()("pid,p", po::value<long>()->required(), "the process to inspect")(
        "env", po::bool_switch(), "also show its environment (values may hold secrets)");
  };
  c.run = [](CommandContext& ctx) -> int {
    json args = {{"pid", ctx.vm["pid"].as<long>()}, {"env", ctx.vm["env"].as<bool>()}};
    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    auto r = (*s)->call("inspect", args);
    if (!r) {
      Error e = r.error();
      if (e.code == errc::kNotFound && e.hint.empty())
        e.hint =
            "list processes with `sonde ps " + (ctx.target.empty() ? "TARGET" : ctx.target) + "`";
      return ctx.fail(e);
    }
    (*r)["host"] = (*s)->host();
    if (ctx.g.json)
      ctx.print_json(*r);
    else
      std::fputs(render::render_inspect_text(*r).c_str(), stdout);
    return exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
