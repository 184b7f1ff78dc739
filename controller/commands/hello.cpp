// sonde hello TARGET: connect, deploy if needed, and show what the agent can
// do there (versions, kernel, uid, ptrace/perf_event/capture permissions).
#include "sonde/render/hello.h"
#include "../cli/command.h"
#include "sonde/common/hello_contract.h"

namespace sonde::controller {

CommandSpec hello_command() {
  CommandSpec c;
  c.name = "hello";
  c.summary = "connect to the target's agent and show its version and what it may do there";
  c.synopsis = "hello TARGET";
  c.run = [](CommandContext& ctx) -> int {
    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    // The hello has the cheap facts; what must be tried (perf_event_open)
    // or searched for (JDK tools, gdbserver) comes from `capabilities`.
    auto r = (*s)->call("capabilities", json::object());
    if (!r) return ctx.fail(r.error());
    auto caps = capabilities_from_json(*r);
    if (!caps) return ctx.fail(caps.error());
    std::string transport = (*s)->transport().describe();
    // The host's clock against ours (NTP's on-wire method over the channel).
    // connect() measured it already when a case records the run.
    Result<ClockOffset> clock = ctx.clock ? Result<ClockOffset>(*ctx.clock) : measure_clock(**s);
    if (ctx.g.json) {
      json out = to_json(*caps);
      out["transport"] = transport;
      out["clock"] = clock ? to_json(*clock) : json(nullptr);
      ctx.print_json(out);
      return exit_code::kOk;
    }
    std::fputs(render::render_hello(*caps, transport, clock ? std::optional(*clock) : std::nullopt)
                   .c_str(),
               ctx.out);
    if (!clock) std::fprintf(ctx.err, "sonde: clock: %s\n", clock.error().message.c_str());
    return exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
