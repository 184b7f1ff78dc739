// `net.connect`: TCP connection attempts from this host to host:port, each
// classified (open, refused, timeout, unreachable with the ICMP details,
// no-route, unresolved), with the source address and the kernel's route; an
// event per attempt as it is made.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "../handler.h"
#include "sonde/net/connect.h"

namespace sonde::agent {

void register_net_connect(Registry& reg) {
  reg["net.connect"] = [](RequestContext& ctx) -> Result<json> {
    net::ConnectOptions o;
    auto host = arg_string(ctx.args, "host", "");
    if (!host) return host.error();
    o.host = *host;
    auto port = arg_int(ctx.args, "port", 0);
    if (!port) return port.error();
    o.port = static_cast<int>(*port);
    auto count = arg_int(ctx.args, "count", 1);
    if (!count) return count.error();
    o.count = static_cast<int>(std::clamp(*count, -1L, 1000L));
    auto interval = arg_int(ctx.args, "interval_ms", 1000);
    if (!interval) return interval.error();
    o.interval_ms = *interval;
    auto timeout = arg_int(ctx.args, "timeout_ms", 3000);
    if (!timeout) return timeout.error();
    o.timeout_ms = *timeout;
    auto hold = arg_int(ctx.args, "hold_ms", 0);
    if (!hold) return hold.error();
    o.hold_ms = *hold;
    auto fam = arg_string(ctx.args, "family", "any");
    if (!fam) return fam.error();
    if (*fam == "4")
      o.family = AF_INET;
    else if (*fam == "6")
      o.family = AF_INET6;
    else if (*fam != "any")
      return Error{errc::kBadArgs, "argument `family` must be \"any\", \"4\" or \"6\"", {}};
    auto all = arg_bool(ctx.args, "all_addresses", false);
    if (!all) return all.error();
    o.all_addresses = *all;
    if (auto st = net::validate(o); !st.ok()) return st.error();

    net::ConnectReport rep = net::connect_check(o, &ctx.cancel, [&](const net::Attempt& a) {
      ctx.emit({{"attempt", net::to_json(a)}});
    });
    if (!rep.resolve_error.empty())
      rep.notes.push_back(
          "the agent is a static binary: its resolver uses only the `files` and `dns` NSS "
          "sources (no systemd-resolved, mdns, LDAP or sss), so it can differ from other "
          "programs");
    json result = net::to_json(rep);
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    result["host"] = name;
    return result;
  };
}

}  // namespace sonde::agent
