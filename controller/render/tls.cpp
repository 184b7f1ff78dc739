#include "sonde/render/tls.h"

#include <algorithm>

#include <fmt/format.h>

#include "sonde/net/address.h"
#include "sonde/render/printf.h"
#include "sonde/render/sides.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

std::string join(const std::vector<std::string>& items, const std::string& prefix = "",
                 const char* sep = ", ") {
  std::string out;
  for (const auto& a : items) out += (out.empty() ? "" : sep) + prefix + a;
  return out;
}

// "DNS:a, DNS:b, IP:1.2.3.4", or "" when the certificate has no SAN.
std::string san_names(const net::TlsCert& c) {
  std::string names = join(c.dns_names, "DNS:");
  std::string ips = join(c.ip_addresses, "IP:");
  if (!ips.empty()) names += (names.empty() ? "" : ", ") + ips;
  return names;
}

std::string validity(const net::TlsCert& c) {
  std::string left = c.days_left < 0   ? fmt::format("EXPIRED {} days ago", -c.days_left)
                     : c.not_yet_valid ? "NOT YET VALID"
                                       : fmt::format("{} days left", c.days_left);
  auto day = [](const std::string& iso) {
    // "2025-01-31T12:00:00Z" → "2025-01-31 12:00:00 UTC"
    return iso.size() == 20 ? iso.substr(0, 10) + " " + iso.substr(11, 8) + " UTC" : iso;
  };
  return day(c.not_before) + " → " + day(c.not_after) + " (" + left + ")";
}

void render_cert(std::string& out, const net::TlsCert& c) {
  appendf(out, "    %d subject  %s\n", c.depth, terminal_safe(c.subject).c_str());
  appendf(out, "      issuer   %s%s\n", terminal_safe(c.issuer).c_str(),
          c.self_signed ? " (self-signed)" : "");
  std::string names = san_names(c);
  appendf(out, "      names    %s\n",
          names.empty() ? "(no subjectAltName)" : terminal_safe(names).c_str());
  appendf(out, "      valid    %s\n", terminal_safe(validity(c)).c_str());
  std::string key = c.key_type;
  if (c.key_bits > 0) key += fmt::format(" {} bits", c.key_bits);
  if (!c.key_curve.empty()) key += " (" + c.key_curve + ")";
  appendf(out, "      key      %s, signed %s%s\n", terminal_safe(key).c_str(),
          terminal_safe(c.signature_algorithm).c_str(), c.is_ca ? ", CA" : "");
  appendf(out, "      serial   %s\n", terminal_safe(c.serial).c_str());
  appendf(out, "      sha256   %s\n", terminal_safe(c.sha256).c_str());
}

std::string store_text(const net::TlsResult& r) {
  if (r.store_kind == "ca_pem") return fmt::format("--ca-file ({} certificates)", r.store_certs);
  if (r.store_kind == "file" || r.store_kind == "ca_file")
    return fmt::format("{} ({} certificates)", r.store_path, r.store_certs);
  if (r.store_kind == "dir") return r.store_path;
  return "no trust store found";
}

void render_handshake(std::string& out, const net::TlsResult& r) {
  appendf(out, "  TLS      %s, %s (%d bits), ALPN %s%s%s\n", terminal_safe(r.version).c_str(),
          terminal_safe(r.cipher).c_str(), r.cipher_bits,
          r.alpn.empty() ? "none" : terminal_safe(r.alpn).c_str(),
          r.key_exchange.empty() ? "" : (", key exchange " + terminal_safe(r.key_exchange)).c_str(),
          r.ocsp_stapled ? ", OCSP stapled" : ", no OCSP staple");
  appendf(out, "  chain as sent (%zu):\n", r.chain.size());
  for (const auto& c : r.chain) render_cert(out, c);
  std::string store = store_text(r);
  if (r.verified) {
    appendf(out, "  verify   OK against %s%s\n", terminal_safe(store).c_str(),
            r.trusted_chain.empty()
                ? ""
                : (", anchored at \"" + terminal_safe(r.trusted_chain.back()) + "\"").c_str());
  } else {
    appendf(out, "  verify   FAILED against %s:\n", terminal_safe(store).c_str());
    for (const auto& e : r.verify_errors)
      appendf(out, "           depth %d: %s\n", e.depth, terminal_safe(e.reason).c_str());
  }
  if (r.hostname_ok) {
    appendf(out, "  hostname %s: OK (matches %s)\n", terminal_safe(r.hostname_checked).c_str(),
            terminal_safe(r.hostname_matched).c_str());
  } else {
    std::string names;
    if (!r.chain.empty()) {
      names = san_names(r.chain[0]);
      if (names.empty() && !r.chain[0].subject_cn.empty()) names = "CN=" + r.chain[0].subject_cn;
    }
    appendf(out, "  hostname %s: MISMATCH: the certificate names %s\n",
            terminal_safe(r.hostname_checked).c_str(),
            names.empty() ? "nothing" : terminal_safe(names).c_str());
  }
}

}  // namespace

std::string render_tls_side(const std::string& label, const net::TlsResult& r) {
  std::string out;
  std::string where = net::host_port(r.host, r.port);
  const std::string& addr = r.address;
  appendf(out, "== %s (host %s) → %s%s, SNI %s ==\n", terminal_safe(label).c_str(),
          terminal_safe(r.agent_host).c_str(), terminal_safe(where).c_str(),
          addr.empty() || addr == r.host ? "" : (" (" + terminal_safe(addr) + ")").c_str(),
          r.sni.empty() ? "none" : terminal_safe(r.sni).c_str());
  // Failed addresses before the one that answered (when none did, the
  // error below lists them).
  if (!addr.empty())
    for (const auto& [a, e] : r.attempts)
      appendf(out, "  connect %s: %s\n", terminal_safe(a).c_str(), terminal_safe(e).c_str());
  if (!r.tls) {
    if (r.outcome == "not_tls") {
      appendf(out, "  NOT TLS: %s\n", terminal_safe(r.error).c_str());
      // The bytes themselves only when they are not a protocol we recognise.
      if (r.banner_seen && r.banner_protocol.empty() && !r.banner_hex.empty())
        appendf(out, "  first bytes: %s%s\n", terminal_safe(r.banner_hex).c_str(),
                r.banner_bytes > 32 ? " ..." : "");
    } else {
      appendf(out, "  FAILED (%s): %s\n", terminal_safe(r.stage).c_str(),
              terminal_safe(r.error).c_str());
    }
  } else {
    render_handshake(out, r);
  }
  if (!addr.empty())
    appendf(out, "  time     connect %ld ms, handshake %ld ms\n", r.connect_ms, r.handshake_ms);
  for (const auto& n : r.notes) appendf(out, "  note: %s\n", terminal_safe(n).c_str());
  if (!r.hint.empty()) appendf(out, "  hint: %s\n", terminal_safe(r.hint).c_str());
  appendf(out, "  summary: %s\n", terminal_safe(r.summary).c_str());
  return out;
}

std::string render_tls_matrix(const std::vector<net::Side<net::TlsResult>>& sides) {
  std::vector<MatrixRow> rows;
  for (const auto& side : sides) {
    const auto& r = side.result;
    std::string cert = "-", fp;
    if (!r.chain.empty()) {
      const auto& leaf = r.chain[0];
      fp = leaf.sha256;
      cert = (leaf.subject_cn.empty() ? leaf.subject : leaf.subject_cn) + " " +
             fp.substr(0, std::min<size_t>(fp.size(), 11));
    }
    std::string detail = r.error;
    if (detail.empty() && !r.verify_errors.empty()) detail = r.verify_errors[0].reason;
    if (detail.empty() && r.tls && !r.hostname_ok) detail = "name does not match";
    if (detail.empty() && !r.address.empty()) detail = "at " + r.address;
    std::string v = r.outcome.empty() ? "?" : r.outcome;
    rows.push_back(
        {side.label,
         v,
         v + "|" + fp,
         {r.version.empty() ? "-" : r.version, cert, fmt::format("{} ms", r.total_ms), detail}});
  }
  return render_side_matrix({{"VERSION"}, {"LEAF CERT"}, {"TIME", Align::kRight}, {"DETAIL"}},
                            std::move(rows));
}

}  // namespace sonde::render
