// sonde dns NAME [--from TARGET]...: what the system resolver and each
// nameserver answer for NAME, on this machine and on each --from target,
// side by side with the differences pointed out.
#include "sonde/net/dns.h"
#include "../cli/command.h"
#include "../cli/sides.h"
#include "../cli/status_line.h"
#include "sonde/net/dns_contract.h"
#include "sonde/render/dns.h"
#include "sonde/render/sides.h"
#include "sonde/render/table.h"

namespace sonde::controller {

CommandSpec dns_command() {
  CommandSpec c;
  c.name = "dns";
  c.summary =
      "what the system resolver and each nameserver answer for a name, here and on --from targets";
  c.synopsis =
      "dns NAME [--from TARGET]... [--type A|AAAA|CNAME|MX|SRV|TXT|PTR] [--nameserver ADDR[:PORT]]";
  c.needs_target = false;
  c.options = [](po::options_description& o) {
    o.add_options()("from", po::value<std::vector<std::string>>()->composing(),
                    "also ask from this target (repeatable)")(
        "type", po::value<std::string>(), "record type (default A, PTR for an address)")(
        "timeout", po::value<std::string>()->default_value("2s"),
        "how long to wait for each nameserver (e.g. 2s, 500ms)")(
        "nameserver", po::value<std::vector<std::string>>()->composing(),
        "ask this server instead of resolv.conf's (advanced; repeatable)")(
        "resolv-conf", po::value<std::string>(), "read this file instead of /etc/resolv.conf");
  };
  c.run = [](CommandContext& ctx) -> int {
    std::string name = ctx.target;
    if (name.empty())
      return ctx.fail(Error{errc::kBadArgs, "missing NAME", "sonde dns NAME [--from TARGET]..."});
    net::DnsArgs args;
    args.name = name;
    if (ctx.vm.count("type")) args.type = ctx.vm["type"].as<std::string>();
    if (auto e = duration_option(ctx.vm, "timeout", &args.timeout_ms)) return ctx.fail(*e);
    if (ctx.vm.count("nameserver"))
      args.nameservers = ctx.vm["nameserver"].as<std::vector<std::string>>();
    if (ctx.vm.count("resolv-conf")) args.resolv_conf = ctx.vm["resolv-conf"].as<std::string>();
    if (auto st = net::validate(args); !st) return ctx.fail(st.error());

    std::vector<json> results;
    bool failed = false;
    // Dead nameservers cost a timeout each, on every side in turn: say where.
    WaitLine wait_line(ctx.err);
    for (auto& side : check_sides(ctx)) {
      wait_line.waiting_for(
          fmt::format("sonde: dns: {}: reaching the agent", render::terminal_safe(side.label)));
      auto s = side.ctx.connect();
      if (s)
        wait_line.waiting_for(fmt::format("sonde: dns: {}: asking for {}",
                                          render::terminal_safe(side.label),
                                          render::terminal_safe(name)));
      Result<json> r = s ? (*s)->call("net.dns", net::to_json(args)) : Result<json>(s.error());
      wait_line.waiting_for("");
      if (r)
        if (auto checked = net::dns_result_from_json(*r); !checked) r = checked.error();
      if (!r) {
        failed = true;
        print_side_error(ctx, side.label, r.error());
        continue;
      }
      results.push_back({{"side", side.label}, {"result", *r}});
    }
    auto diffs = net::dns_differences(results);
    if (ctx.g.json) {
      ctx.print_json({{"name", name}, {"sides", results}, {"differences", diffs}});
    } else {
      // A fleet of --from hosts: one line each, the odd ones first.
      std::string text =
          results.size() > render::kSideBlocksUpTo
              ? render::render_dns_matrix(results) + render::render_list("differences", diffs)
              : render::render_sides(results, render::render_dns_side, diffs);
      std::fputs(text.c_str(), ctx.out);
    }
    return failed ? exit_code::kFailed : exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
