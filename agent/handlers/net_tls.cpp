// `net.tls`: does HOST:PORT speak TLS as seen from this host, and what does it
// show (version, cipher, ALPN, the chain as sent, verification against this
// host's trust store or a given CA, the hostname check). Network outcomes are
// findings in the result; only bad arguments and a cancel are errors.
//
// args: host (string), port (int), sni (string, "" = host when it is a name),
// no_sni (bool), alpn (array of strings; [] offers none; absent: h2,http/1.1),
// ca_pem (PEM text) or ca_file (a path on this host), timeout_ms (connect, and
// again the handshake; default 5000), banner_wait_ms (default 300; 0 = do not
// listen first), min_version / max_version ("1.0".."1.3").
//
// result: net::to_json(TlsReport) (see net/src/tls_certificate.cpp) plus "host", this
// host's name.
#include <unistd.h>

#include "../handler.h"
#include "sonde/net/tls.h"

namespace sonde::agent {

void register_net_tls(Registry& reg) {
  reg["net.tls"] = [](RequestContext& ctx) -> Result<json> {
    net::TlsOptions o;
    auto host = arg_string(ctx.args, "host", "");
    if (!host) return host.error();
    o.host = *host;
    auto port = arg_int(ctx.args, "port", 443);
    if (!port) return port.error();
    o.port = static_cast<int>(std::clamp(*port, -1L, 70000L));
    auto sni = arg_string(ctx.args, "sni", "");
    if (!sni) return sni.error();
    o.sni = *sni;
    auto no_sni = arg_bool(ctx.args, "no_sni", false);
    if (!no_sni) return no_sni.error();
    o.no_sni = *no_sni;
    if (auto it = ctx.args.find("alpn"); it != ctx.args.end() && !it->is_null()) {
      if (!it->is_array())
        return Error{errc::kBadArgs, "argument `alpn` must be an array of strings", {}};
      o.alpn.clear();
      for (const auto& a : *it) {
        if (!a.is_string())
          return Error{errc::kBadArgs, "argument `alpn` must be an array of strings", {}};
        o.alpn.push_back(a.get<std::string>());
      }
    }
    auto ca_pem = arg_string(ctx.args, "ca_pem", "");
    if (!ca_pem) return ca_pem.error();
    if (ca_pem->size() > (1u << 20))
      return Error{errc::kBadArgs, "the CA PEM is over 1 MiB", "give just the CA certificate(s)"};
    o.ca_pem = *ca_pem;
    auto ca_file = arg_string(ctx.args, "ca_file", "");
    if (!ca_file) return ca_file.error();
    o.ca_file = *ca_file;
    if (!o.ca_pem.empty() && !o.ca_file.empty())
      return Error{errc::kBadArgs, "give ca_pem or ca_file, not both", {}};
    auto timeout = arg_int(ctx.args, "timeout_ms", 5000);
    if (!timeout) return timeout.error();
    o.timeout_ms = *timeout;
    auto banner = arg_int(ctx.args, "banner_wait_ms", 300);
    if (!banner) return banner.error();
    o.banner_wait_ms = *banner;
    auto minv = arg_string(ctx.args, "min_version", "");
    if (!minv) return minv.error();
    o.min_version = *minv;
    auto maxv = arg_string(ctx.args, "max_version", "");
    if (!maxv) return maxv.error();
    o.max_version = *maxv;
    if (auto v = net::tls_validate(o); !v) return v.error();

    net::TlsReport r = net::tls_probe(o, &ctx.cancel);
    if (r.failure_kind == "cancelled" || ctx.cancel.cancelled())
      return Error{errc::kCancelled, "cancelled", {}};
    json result = net::to_json(r);
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    result["host"] = name;
    return result;
  };
}

}  // namespace sonde::agent
