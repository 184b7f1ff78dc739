// What differs between the sides of `sonde tls`, said as what it suggests:
// another address (DNS), TLS on one path only (something answers instead of
// the server), another certificate (an intercepting proxy, a renewal not
// deployed everywhere), another negotiation, another trust store.
#include <fmt/format.h>

#include "sonde/net/tls_contract.h"

namespace sonde::net {
namespace {

std::string leaf_fp(const TlsResult& r) {
  return r.chain.empty() ? "" : r.chain[0].sha256;
}

std::string leaf_issuer(const TlsResult& r) {
  return r.chain.empty() ? "" : r.chain[0].issuer;
}

std::string short_fp(const std::string& fp) {
  return fp.size() > 23 ? fp.substr(0, 23) + "…" : fp;
}

std::string or_none(const std::string& s) {
  return s.empty() ? "none" : s;
}

// Both sides completed a handshake: compare what they were shown.
void compare_handshakes(const std::string& a, const TlsResult& ra, const std::string& b,
                        const TlsResult& rb, std::vector<std::string>& out) {
  std::string fa = leaf_fp(ra), fb = leaf_fp(rb);
  if (fa != fb) {
    bool issuer_differs = leaf_issuer(ra) != leaf_issuer(rb);
    out.push_back(fmt::format(
        "different certificates: {} sees {} (issuer {}), {} sees {} (issuer {}): {}", a,
        short_fp(fa), leaf_issuer(ra), b, short_fp(fb), leaf_issuer(rb),
        issuer_differs ? "a TLS-intercepting proxy on one path?"
                       : "different servers behind one name (load balancer, a renewal not "
                         "deployed everywhere)?"));
  }
  const std::pair<const char*, std::string TlsResult::*> negotiated[] = {
      {"version", &TlsResult::version}, {"cipher", &TlsResult::cipher}, {"alpn", &TlsResult::alpn}};
  for (const auto& [name, field] : negotiated)
    if (ra.*field != rb.*field)
      out.push_back(
          fmt::format("{} negotiates {} {}, {} {}: a proxy or a different server "
                      "in between?",
                      a, name, or_none(ra.*field), b, or_none(rb.*field)));
  if (ra.verified != rb.verified) {
    const std::string& bad_side = ra.verified ? b : a;
    const TlsResult& bad = ra.verified ? rb : ra;
    std::string reason = bad.verify_errors.empty() ? "" : bad.verify_errors[0].reason;
    out.push_back(fmt::format(
        "{} verifies the chain, {} does not ({}){}", ra.verified ? a : b, bad_side, reason,
        fa == fb ? ": same certificate, so " + bad_side + "'s trust store lacks the CA" : ""));
  }
  if (ra.hostname_ok != rb.hostname_ok)
    out.push_back(fmt::format("the hostname matches on {} but not on {}", ra.hostname_ok ? a : b,
                              ra.hostname_ok ? b : a));
}

}  // namespace

std::vector<std::string> tls_differences(const std::vector<Side<TlsResult>>& sides) {
  std::vector<std::string> out;
  if (sides.size() < 2) return out;
  const std::string& a = sides[0].label;
  const TlsResult& ra = sides[0].result;
  for (size_t i = 1; i < sides.size(); ++i) {
    const std::string& b = sides[i].label;
    const TlsResult& rb = sides[i].result;
    if (ra.address != rb.address && !ra.address.empty() && !rb.address.empty())
      out.push_back(
          fmt::format("{} connects to {}, {} to {}: the name resolves differently (`sonde dns`)", a,
                      ra.address, b, rb.address));
    if (ra.tls != rb.tls) {
      const std::string& ok_side = ra.tls ? a : b;
      const std::string& bad_side = ra.tls ? b : a;
      const TlsResult& bad = ra.tls ? rb : ra;
      if (bad.outcome == "not_tls")
        out.push_back(
            fmt::format("{} gets TLS, {} does not ({}): something on {}'s path answers "
                        "instead of the server (a proxy, a captive portal, a different "
                        "service)?",
                        ok_side, bad_side, bad.error, bad_side));
      else
        out.push_back(fmt::format("{} gets TLS, {} does not: {}", ok_side, bad_side, bad.error));
      continue;
    }
    if (!ra.tls) {
      if (ra.outcome != rb.outcome)
        out.push_back(fmt::format("neither side gets TLS, for different reasons: {}: {}; {}: {}", a,
                                  ra.error, b, rb.error));
      else if (ra.error != rb.error)
        out.push_back(fmt::format("{}: {}; {}: {}", a, ra.error, b, rb.error));
      continue;
    }
    compare_handshakes(a, ra, b, rb, out);
  }
  return out;
}

}  // namespace sonde::net
