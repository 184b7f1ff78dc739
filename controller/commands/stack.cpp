// sonde stack TARGET -p PID: every thread's stack, like eu-stack or gdb's
// `thread apply all bt`. The threads are stopped only while the agent copies
// their registers and stacks.
#include "sonde/render/stack.h"
#include "../cli/command.h"
#include "../cli/pick.h"
#include "sonde/profiler/stack_contract.h"
#include "sonde/render/table.h"

namespace sonde::controller {

CommandSpec stack_command() {
  CommandSpec c;
  c.name = "stack";
  c.summary = "every thread's stack: functions, modules, file:line, inline frames (like eu-stack)";
  c.synopsis = "stack TARGET (-p PID | --pgrep REGEX) [--max-frames N]";
  c.options = [](po::options_description& o) {
    o.add_options()("pid,p", po::value<long>(), "the process whose threads to show")(
        "pgrep", po::value<std::string>(), kPgrepHelp)(
        "max-frames", po::value<long>()->default_value(256), "stop unwinding after N frames");
  };
  c.run = [](CommandContext& ctx) -> int {
    if (auto e = one_process_option(ctx.vm, "sonde stack TARGET -p PID")) return ctx.fail(*e);
    const bool by_name = ctx.vm.count("pgrep") > 0;
    long pid = by_name ? 1 : ctx.vm["pid"].as<long>(), max_frames = ctx.vm["max-frames"].as<long>();
    if (pid <= 0 || pid > INT32_MAX)
      return ctx.fail(Error{errc::kBadArgs, fmt::format("-p {} is not a process id", pid),
                            "sonde stack TARGET -p PID"});
    profiler::StackArgs args{static_cast<int>(pid), max_frames};
    if (auto st = profiler::validate(args); !st) return ctx.fail(st.error());
    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    auto picked = pgrep_pid(ctx.vm, **s);
    if (!picked) return ctx.fail(picked.error());
    if (*picked) args.pid = **picked;
    auto r = (*s)->call("stack", profiler::to_json(args));
    if (!r) {
      Error e = r.error();
      if (e.code == errc::kNotFound)
        e.hint =
            "list processes with `sonde ps " + (ctx.target.empty() ? "TARGET" : ctx.target) + "`";
      return ctx.fail(e);
    }
    auto d = profiler::stack_result_from_json(*r);
    if (!d) return ctx.fail(d.error());
    if (ctx.g.json) {
      // The text output carries its notes; JSON keeps stdout for the document.
      for (const auto& n : d->notes)
        std::fprintf(ctx.err, "sonde: note: %s\n", render::terminal_safe(n).c_str());
      (*r)["host"] = (*s)->host();
      ctx.print_json(*r);
    } else {
      std::fputs(render::render_stack_dump(*d).c_str(), ctx.out);
    }
    return exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
