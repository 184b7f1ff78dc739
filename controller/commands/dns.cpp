// sonde dns NAME [--from TARGET]...: what the system resolver and each
// nameserver answer for NAME, on this machine and on each --from target,
// side by side with the differences pointed out.
#include "sonde/net/dns.h"
#include "../cli/command.h"
#include "../cli/sides.h"
#include "sonde/net/dns_contract.h"
#include "sonde/render/table.h"

namespace sonde::controller {
namespace {

std::string safe(const std::string& s) {
  return render::terminal_safe(s);
}

void print_side(const std::string& label, const json& r) {
  // value(), not the const operator[], which reads past the end of the map
  // for a key the agent left out.
  const json query = r.value("query", json::object());
  std::printf("== %s (host %s, %s %s) ==\n", safe(label).c_str(),
              safe(r.value("host", "?")).c_str(), safe(query.value("type", "")).c_str(),
              safe(query.value("name", "")).c_str());
  const json sys = r.value("system", json::object());
  std::string err = sys.value("error", "");
  std::string addrs;
  for (const auto& a : sys.value("addresses", json::array()))
    addrs += (addrs.empty() ? "" : ", ") + a.get<std::string>();
  std::printf("  system resolver: %s (%ld ms)\n",
              safe(err.empty() ? addrs : "error: " + err).c_str(), sys.value("ms", 0L));
  int i = 0;
  for (const auto& ns : r.value("nameservers", json::array())) {
    ++i;
    std::string e = ns.value("error", "");
    std::printf("  nameserver %d %s: %s (%ld ms%s)\n", i, safe(ns.value("server", "")).c_str(),
                safe(e.empty() ? ns.value("rcode", "") : "error: " + e).c_str(), ns.value("ms", 0L),
                ns.value("truncated_retried", false) ? ", retried over TCP" : "");
    for (const auto& a : ns.value("answers", json::array()))
      std::printf("    %-32s %-6s %8u  %s\n", safe(a.value("name", "")).c_str(),
                  safe(a.value("type", "")).c_str(), a.value("ttl", 0u),
                  safe(a.value("data", "")).c_str());
  }
  if (i == 0) std::printf("  no nameservers (resolv.conf lists none)\n");
  std::string search;
  for (const auto& s : r.value("search", json::array()))
    search += (search.empty() ? "" : " ") + s.get<std::string>();
  if (!search.empty()) std::printf("  search: %s\n", safe(search).c_str());
  for (const auto& n : r.value("notes", json::array()))
    std::printf("  note: %s\n", safe(n.get<std::string>()).c_str());
}

}  // namespace

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
        "timeout", po::value<long>()->default_value(2000), "per-nameserver timeout in ms")(
        "nameserver", po::value<std::vector<std::string>>()->composing(),
        "ask this server instead of resolv.conf's (advanced; repeatable)")(
        "resolv-conf", po::value<std::string>(), "read this file instead of /etc/resolv.conf");
  };
  c.run = [](CommandContext& ctx) -> int {
    std::string name = ctx.target;
    if (name.empty())
      return ctx.fail(
          Error{errc::kBadArgs, "sonde dns needs a NAME", "sonde dns NAME [--from TARGET]..."});
    net::DnsArgs args;
    args.name = name;
    if (ctx.vm.count("type")) args.type = ctx.vm["type"].as<std::string>();
    args.timeout_ms = ctx.vm["timeout"].as<long>();
    if (ctx.vm.count("nameserver"))
      args.nameservers = ctx.vm["nameserver"].as<std::vector<std::string>>();
    if (ctx.vm.count("resolv-conf")) args.resolv_conf = ctx.vm["resolv-conf"].as<std::string>();
    if (auto st = net::validate(args); !st) return ctx.fail(st.error());

    std::vector<json> results;
    bool failed = false;
    for (auto& side : check_sides(ctx)) {
      auto s = side.ctx.connect();
      Result<json> r = s ? (*s)->call("net.dns", net::to_json(args)) : Result<json>(s.error());
      if (r)
        if (auto checked = net::dns_result_from_json(*r); !checked) r = checked.error();
      if (!r) {
        failed = true;
        print_side_error(side.label, r.error());
        continue;
      }
      results.push_back({{"side", side.label}, {"result", *r}});
    }
    auto diffs = net::dns_differences(results);
    if (ctx.g.json) {
      ctx.print_json({{"name", name}, {"sides", results}, {"differences", diffs}});
    } else {
      print_sides(results, print_side, diffs);
    }
    return failed ? exit_code::kFailed : exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
