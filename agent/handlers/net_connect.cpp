// `net.connect`: TCP connection attempts from this host to host:port, each
// classified (open, refused, timeout, unreachable with the ICMP details,
// no-route, unresolved), with the source address and the kernel's route; an
// event per attempt as it is made. Arguments and result: ConnectOptions and
// ConnectResult (net/connect_contract.h).
#include "../handler.h"
#include "sonde/net/address.h"
#include "sonde/net/connect.h"
#include "sonde/net/connect_contract.h"

namespace sonde::agent {

void register_net_connect(Registry& reg) {
  reg["net.connect"] = [](RequestContext& ctx) -> Result<json> {
    auto args = net::connect_args_from_json(ctx.args);
    if (!args) return args.error();
    const net::ConnectOptions& o = *args;
    if (auto st = net::validate(o); !st.ok()) return st.error();

    net::ConnectResult rep = net::connect_check(o, &ctx.cancel, [&](const net::Attempt& a) {
      ctx.emit({{"attempt", net::to_json(a)}});
    });
    if (!rep.resolve_error.empty())
      rep.notes.push_back(
          "the agent is a static binary: its resolver uses only the `files` and `dns` NSS "
          "sources (no systemd-resolved, mdns, LDAP or sss), so it can differ from other "
          "programs");
    rep.agent_host = net::local_hostname();
    return net::to_json(rep);
  };
}

}  // namespace sonde::agent
