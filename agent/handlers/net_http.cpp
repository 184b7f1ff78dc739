// `net.http`: one HTTP/1.1 GET from this host (the last rung of
// `sonde diagnose`): status line, a few headers, time to first byte.
// Arguments and result: HttpRequest and HttpResult (net/http_contract.h).
#include "../handler.h"
#include "sonde/net/http.h"
#include "sonde/net/http_contract.h"

namespace sonde::agent {

void register_net_http(Registry& reg) {
  reg["net.http"] = [](RequestContext& ctx) -> Result<json> {
    auto req = net::http_args_from_json(ctx.args);
    if (!req) return req.error();
    if (auto st = net::validate(*req); !st) return st.error();
    net::HttpResult r = net::http_probe(*req, &ctx.cancel);
    if (ctx.cancel.cancelled()) return Error{errc::kCancelled, "cancelled", {}};
    return net::to_json(r);
  };
}

}  // namespace sonde::agent
