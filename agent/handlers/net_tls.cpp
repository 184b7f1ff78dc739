// `net.tls`: does HOST:PORT speak TLS as seen from this host, and what does it
// show (version, cipher, ALPN, the chain as sent, verification against this
// host's trust store or a given CA, the hostname check). Network outcomes are
// findings in the result; only bad arguments and a cancel are errors.
// Arguments and result: TlsArgs and TlsResult (net/tls_contract.h).
#include "../handler.h"
#include "sonde/net/address.h"
#include "sonde/net/tls.h"

namespace sonde::agent {

void register_net_tls(Registry& reg) {
  reg["net.tls"] = [](RequestContext& ctx) -> Result<json> {
    auto args = net::tls_args_from_json(ctx.args);
    if (!args) return args.error();
    if (auto v = net::tls_validate(*args); !v) return v.error();

    net::TlsResult r = net::tls_probe(*args, &ctx.cancel);
    if (r.failure_kind == "cancelled" || ctx.cancel.cancelled())
      return Error{errc::kCancelled, "cancelled", {}};
    r.agent_host = net::local_hostname();
    return net::to_json(r);
  };
}

}  // namespace sonde::agent
