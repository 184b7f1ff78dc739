// `net.connect`: TCP connection attempts from this host to host:port, each
// classified (open, refused, timeout, unreachable with the ICMP details,
// no-route, unresolved), with the source address and the kernel's route; an
// event per attempt as it is made.
#include <sys/socket.h>
#include <unistd.h>

#include "../handler.h"
#include "sonde/net/connect.h"
#include "sonde/net/connect_contract.h"

namespace sonde::agent {

void register_net_connect(Registry& reg) {
  reg["net.connect"] = [](RequestContext& ctx) -> Result<json> {
    auto args = net::connect_args_from_json(ctx.args);
    if (!args) return args.error();
    const net::ConnectOptions& o = *args;
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
