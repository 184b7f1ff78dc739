// `sonde diagnose`: the ladder dns → route → connect → tls → http, run on
// each side by the ops of the single checks (net.dns, net.connect, net.tls,
// net.http), then one verdict across the sides with its evidence and what to
// look at next. Pure functions on the ops' typed results, so the reasoning
// is unit-tested without a network.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/net/connect.h"
#include "sonde/net/dns_contract.h"
#include "sonde/net/http.h"
#include "sonde/net/tls_contract.h"

namespace sonde::net {

// One rung as seen from one side.
struct Layer {
  std::string layer;   // "dns", "route", "connect", "tls", "http"
  std::string status;  // "ok", "fail", "warn", "skipped"
  // A short code: "nxdomain", "refused", "timeout", "admin-prohibited",
  // "not-tls", "cert-expired", "http-5xx", ...; "" when ok.
  std::string verdict;
  std::string text;  // one line of evidence: "198.18.0.3:5432 refused (RST) in 0.3 ms"
  // A few figures the verdict may quote: address, source, offender, dev,
  // sha256, status.
  std::map<std::string, std::string> data;
};
// {layer, status, verdict, text, data}
json to_json(const Layer& l);

// One side's ladder, in the order run.
struct DiagnoseSide {
  std::string label;  // "local", "via", a --from target
  std::string host;   // the agent's hostname
  std::vector<Layer> layers;
};
// {side, host, layers}
json to_json(const DiagnoseSide& s);

// The rungs from each op's result. Each returns one layer, or two for
// connect (route, then connect; only route when the kernel has none).
Layer dns_layer(const std::string& host, const DnsResult& r);
std::vector<Layer> connect_layers(const ConnectResult& r);
Layer tls_layer(const TlsResult& r);
Layer http_layer(const HttpResult& r);
// A rung that was not run because an earlier one failed on that side.
Layer skipped_layer(const std::string& layer, const std::string& why);
// A rung whose op itself failed (agent error): a failure of the check, not of the network.
Layer error_layer(const std::string& layer, const std::string& message);

struct Verdict {
  bool ok = false;                    // every rung passed on every side
  std::string failing_layer;          // the first rung that failed anywhere
  std::string text;                   // the verdict sentence
  std::vector<std::string> evidence;  // "side: layer text" lines
  std::vector<std::string> next;      // what to look at next
};

// sides in the order shown. target is "HOST:PORT" as typed.
Verdict diagnose_verdict(const std::string& target, const std::vector<DiagnoseSide>& sides);
json to_json(const Verdict& v);

}  // namespace sonde::net
