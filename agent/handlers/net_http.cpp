// `net.http`: one HTTP/1.1 GET from this host (the last rung of
// `sonde diagnose`): status line, a few headers, time to first byte.
#include "../handler.h"
#include "sonde/net/http.h"

namespace sonde::agent {

void register_net_http(Registry& reg) {
  reg["net.http"] = [](RequestContext& ctx) -> Result<json> {
    net::HttpRequest req;
    auto host = arg_string(ctx.args, "host", "");
    if (!host) return host.error();
    if (host->empty() || host->size() > 255)
      return Error{errc::kBadArgs, "net.http needs a host of 1..255 characters", {}};
    req.host = *host;
    auto port = arg_int(ctx.args, "port", 0);
    if (!port) return port.error();
    auto tls = arg_bool(ctx.args, "tls", false);
    if (!tls) return tls.error();
    req.tls = *tls;
    req.port = *port > 0 ? static_cast<int>(*port) : (req.tls ? 443 : 80);
    if (req.port > 65535) return Error{errc::kBadArgs, "port must be 1..65535", {}};
    auto path = arg_string(ctx.args, "path", "/");
    if (!path) return path.error();
    if (path->empty() || (*path)[0] != '/' || path->size() > 2048)
      return Error{errc::kBadArgs, "the HTTP path must start with '/' (at most 2048 bytes)",
                   "sonde diagnose HOST:PORT --http /health"};
    req.path = *path;
    auto sni = arg_string(ctx.args, "sni", "");
    if (!sni) return sni.error();
    req.sni = *sni;
    auto hh = arg_string(ctx.args, "host_header", "");
    if (!hh) return hh.error();
    req.host_header = *hh;
    auto timeout = arg_int(ctx.args, "timeout_ms", 5000);
    if (!timeout) return timeout.error();
    if (*timeout < 1 || *timeout > 120000)
      return Error{errc::kBadArgs, "timeout_ms must be 1..120000", {}};
    req.timeout_ms = *timeout;
    json r = net::http_probe(req, &ctx.cancel);
    if (ctx.cancel.cancelled()) return Error{errc::kCancelled, "cancelled", {}};
    return r;
  };
}

}  // namespace sonde::agent
