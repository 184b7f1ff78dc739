// The rungs of `sonde diagnose` from the single checks' results: what each
// op found, said as one line, with the short code the verdict reasons on.
#include "sonde/net/diagnose.h"

#include <algorithm>

#include "join.h"
#include "ms_text.h"
#include "sonde/net/address.h"

namespace sonde::net {
namespace {

Layer rung(const char* layer) {
  return {layer, "ok", "", "", {}};
}

std::string strip_port(const std::string& addr_port) {
  if (addr_port.empty()) return "";
  if (addr_port.front() == '[') {
    size_t e = addr_port.find(']');
    return e == std::string::npos ? addr_port : addr_port.substr(1, e - 1);
  }
  size_t c = addr_port.rfind(':');
  return c == std::string::npos || addr_port.find(':') != c ? addr_port : addr_port.substr(0, c);
}

Layer route_layer(const ConnectResult& r) {
  if (r.routes.empty()) return skipped_layer("route", "no address to route to");
  Layer route = rung("route");
  const RouteInfo& rt = r.routes[0];
  if (!rt.error.empty() || rt.type == "unreachable" || rt.type == "prohibit" ||
      rt.type == "blackhole") {
    route.status = "fail";
    route.verdict = "no-route";
    route.text = "no route to " + rt.destination + ": " +
                 (rt.error.empty() ? "the route is " + rt.type : rt.error);
    return route;
  }
  route.text = rt.destination + " via " + (rt.gateway.empty() ? "direct" : rt.gateway) + " on " +
               rt.dev + ", source " + rt.prefsrc;
  if (rt.mtu > 0) route.text += ", mtu " + std::to_string(rt.mtu);
  route.data = {{"dev", rt.dev}, {"source", rt.prefsrc}};
  return route;
}

// A TLS result whose chain or name did not check out.
Layer verify_failed_layer(const TlsResult& r) {
  Layer l = rung("tls");
  l.status = "fail";
  const TlsCert* leaf = r.chain.empty() ? nullptr : &r.chain[0];
  if (!r.verify_errors.empty()) {
    const TlsVerifyError& e = r.verify_errors[0];
    // X509_V_ERR_CERT_HAS_EXPIRED
    if (e.code == 10) {
      l.verdict = "cert-expired";
      l.text = "certificate " + (leaf ? leaf->subject_cn + " " : std::string()) + "expired on " +
               (leaf ? leaf->not_after : std::string("?")) + " (" +
               std::to_string(leaf ? -leaf->days_left : 0) + " days ago)";
    } else {
      l.verdict = "untrusted";
      l.text = e.reason + " (store: " + r.store_path + ")";
    }
    return l;
  }
  if (!r.hostname_ok) {
    l.verdict = "hostname-mismatch";
    std::vector<std::string> names;
    if (leaf) {
      names = leaf->dns_names;
      names.insert(names.end(), leaf->ip_addresses.begin(), leaf->ip_addresses.end());
    }
    l.text = "asked for " + r.hostname_checked + ", the certificate names " +
             (names.empty() ? (leaf ? "CN " + leaf->subject_cn : std::string("nothing"))
                            : join(names, ", "));
    return l;
  }
  l.verdict = "untrusted";
  l.text = r.error;
  return l;
}

}  // namespace

Layer skipped_layer(const std::string& layer, const std::string& why) {
  return {layer, "skipped", "", why, {}};
}

Layer error_layer(const std::string& layer, const std::string& message) {
  return {layer, "fail", "check-failed", "the check could not run: " + message, {}};
}

Layer dns_layer(const std::string& host, const DnsResult& r) {
  Layer l = rung("dns");
  const SystemAnswer& sys = r.system;
  // What the nameservers said, for the evidence and for NXDOMAIN.
  std::vector<std::string> ns_notes;
  bool nx = false;
  for (const auto& ns : r.nameservers) {
    if (ns.rcode == "NXDOMAIN") nx = true;
    if (!ns.error.empty())
      ns_notes.push_back("nameserver " + ns.server + ": " + ns.error);
    else if (ns.rcode != "NOERROR")
      ns_notes.push_back("nameserver " + ns.server + ": " + ns.rcode);
  }
  if (!sys.error.empty() || sys.addresses.empty()) {
    l.status = "fail";
    l.verdict = nx ? "nxdomain" : "unresolved";
    l.text = host + " does not resolve: " + (sys.error.empty() ? "no addresses" : sys.error) +
             (ns_notes.empty() ? "" : " (" + join(ns_notes, "; ") + ")");
    return l;
  }
  l.text = host + " → " + join(sys.addresses, ", ") + " (system resolver, " +
           std::to_string(sys.ms) + " ms)";
  l.data["address"] = sys.addresses.front();
  if (!ns_notes.empty()) {
    l.status = "warn";
    l.text += "; " + join(ns_notes, "; ");
  }
  return l;
}

std::vector<Layer> connect_layers(const ConnectResult& r) {
  Layer route = route_layer(r);
  Layer conn = rung("connect");
  const std::string overall = overall_verdict(r);
  // The row the verdict is about: the last failing one, else the last.
  const Attempt* pick = last_failure(r.attempts);
  if (!pick && !r.attempts.empty()) pick = &r.attempts.back();
  const int total = static_cast<int>(r.attempts.size());
  const int opened =
      static_cast<int>(std::count_if(r.attempts.begin(), r.attempts.end(),
                                     [](const Attempt& a) { return a.verdict == verdict::kOpen; }));
  if (!pick) {
    conn.status = "fail";
    conn.verdict = overall;
    conn.text =
        r.resolve_error.empty() ? "no attempt was made" : "not resolved: " + r.resolve_error;
    return {route, conn};
  }
  const Attempt& a = *pick;
  const std::string& v = a.verdict;
  const std::string& addr = a.address;
  std::string where = host_port(addr, r.options.port);
  conn.data = {{"address", addr}, {"source", strip_port(a.source)}};
  if (overall == verdict::kOpen || (v == verdict::kOpen && opened == total)) {
    conn.text = where + " open in " + ms_text(a.ms) + " (" + std::to_string(opened) + "/" +
                std::to_string(total) + " attempts) from " + a.source;
    return {route, conn};
  }
  conn.status = "fail";
  conn.verdict = v;
  if (v == verdict::kUnreachable && a.icmp) {
    if (!a.icmp->kind.empty()) conn.verdict = a.icmp->kind;
    conn.data["offender"] = a.icmp->from;
  }
  conn.text =
      where + " " + (a.detail.empty() ? v : a.detail) + " (" + ms_text(a.ms) +
      (opened ? ", " + std::to_string(opened) + "/" + std::to_string(total) + " opened" : "") + ")";
  if (v == verdict::kNoRoute) {
    route.status = "fail";
    route.verdict = "no-route";
    if (route.text.empty()) route.text = "no route to " + addr + ": " + a.detail;
    return {route};
  }
  return {route, conn};
}

Layer tls_layer(const TlsResult& r) {
  Layer l = rung("tls");
  const TlsCert* leaf = r.chain.empty() ? nullptr : &r.chain[0];
  long days = leaf ? leaf->days_left : 0;
  if (leaf) l.data["sha256"] = leaf->sha256;
  if (r.outcome == "ok") {
    l.text = r.version + " " + r.cipher + (r.alpn.empty() ? "" : ", ALPN " + r.alpn) +
             (leaf ? ", certificate for " + leaf->subject_cn + " valid " + std::to_string(days) +
                         " more days"
                   : "") +
             ", verified";
    if (leaf && days < 14) l.status = "warn";
    return l;
  }
  if (r.outcome == "verify_failed") {
    Layer v = verify_failed_layer(r);
    v.data = l.data;
    return v;
  }
  l.status = "fail";
  if (r.outcome == "not_tls") {
    l.verdict = "not-tls";
    if (r.banner_seen && !r.banner_text.empty())
      l.text = std::string(r.server_first ? "it speaks first: \""
                                          : "it answers the ClientHello with \"") +
               r.banner_text + "\"" +
               (r.banner_protocol.empty() ? "" : " (" + r.banner_protocol + ")");
    else
      l.text = r.error;
    return l;
  }
  l.verdict = r.outcome == "handshake_failed" ? "handshake" : r.outcome;
  l.text = r.error + (r.alert.empty() ? "" : " (alert: " + r.alert + ")");
  return l;
}

Layer http_layer(const HttpResult& r) {
  Layer l = rung("http");
  if (!r.ok) {
    l.status = "fail";
    bool silent = r.stage == "response" && (r.error.find("no response") != std::string::npos ||
                                            r.error.find("did not end") != std::string::npos);
    l.verdict = silent ? "no-response" : "failed";
    l.text = "GET " + r.path + ": " + r.error;
    return l;
  }
  std::string line = "HTTP " + std::to_string(r.status) + " " + r.reason;
  l.data["status"] = std::to_string(r.status);
  l.text = "GET " + r.path + ": " + line + " in " + std::to_string(r.ttfb_ms) + " ms";
  if (r.status >= 500) {
    l.status = "fail";
    l.verdict = "http-5xx";
    l.text = line + " for GET " + r.path;
  } else if (r.status >= 400) {
    l.status = "fail";
    l.verdict = "http-4xx";
    l.text = line + " for GET " + r.path;
  } else if (r.status >= 300) {
    l.status = "warn";
    auto loc = r.headers.find("location");
    l.text += " → " + (loc == r.headers.end() ? std::string("(no Location)") : loc->second);
  }
  return l;
}

json to_json(const Layer& l) {
  return {{"layer", l.layer},
          {"status", l.status},
          {"verdict", l.verdict},
          {"text", l.text},
          {"data", l.data}};
}

json to_json(const DiagnoseSide& s) {
  json layers = json::array();
  for (const auto& l : s.layers) layers.push_back(to_json(l));
  return {{"side", s.label}, {"host", s.host}, {"layers", std::move(layers)}};
}

}  // namespace sonde::net
