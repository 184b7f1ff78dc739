// `sonde diagnose`: the ladder dns → route → connect → tls → http, run on
// each side by the ops of the single checks (net.dns, net.connect, net.tls,
// net.http), then one verdict across the sides with its evidence and what to
// look at next. Pure functions on the ops' JSON results, so the reasoning is
// unit-tested without a network.
#pragma once

#include <string>
#include <vector>

#include "sonde/common/frame.h"

namespace sonde::net {

// One rung as seen from one side:
//   {layer: "dns"|"route"|"connect"|"tls"|"http",
//    status: "ok"|"fail"|"warn"|"skipped",
//    verdict: a short code ("nxdomain", "refused", "timeout", "admin-prohibited",
//             "not-tls", "cert-expired", "http-5xx", ...; "" when ok),
//    text: one line of evidence, e.g. "198.18.0.3:5432 refused (RST) in 0.3 ms",
//    data: a few figures the verdict may quote (address, source, offender, ...)}
using Layer = json;

// The rungs from each op's result. Each returns one layer, or two for
// connect (route, then connect).
Layer dns_layer(const std::string& host, const json& dns_result);
std::vector<Layer> connect_layers(const json& connect_result);
Layer tls_layer(const json& tls_result);
Layer http_layer(const json& http_result);
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

// sides: [{side: label, layers: [Layer...]}] in the order shown. target is
// "HOST:PORT" as typed.
Verdict diagnose_verdict(const std::string& target, const std::vector<json>& sides);
json to_json(const Verdict& v);

}  // namespace sonde::net
