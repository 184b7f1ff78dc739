#include "sonde/render/tls.h"

#include "sonde/render/json_access.h"
#include "sonde/render/printf.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

std::string join(const json& arr, const std::string& prefix = "", const char* sep = ", ") {
  std::string out;
  if (!arr.is_array()) return out;
  for (const auto& a : arr)
    if (a.is_string()) out += (out.empty() ? "" : sep) + prefix + a.get<std::string>();
  return out;
}

std::string validity(const json& c) {
  long days = c.value("days_left", 0L);
  std::string left = days < 0                          ? fmt::format("EXPIRED {} days ago", -days)
                     : c.value("not_yet_valid", false) ? "NOT YET VALID"
                                                       : fmt::format("{} days left", days);
  auto day = [](const std::string& iso) {
    // "2025-01-31T12:00:00Z" → "2025-01-31 12:00:00 UTC"
    return iso.size() == 20 ? iso.substr(0, 10) + " " + iso.substr(11, 8) + " UTC" : iso;
  };
  return day(json_str(c, "not_before")) + " → " + day(json_str(c, "not_after")) + " (" + left + ")";
}

void render_cert(std::string& out, const json& c) {
  appendf(out, "    %ld subject  %s\n", c.value("depth", 0L),
          terminal_safe(json_str(c, "subject")).c_str());
  appendf(out, "      issuer   %s%s\n", terminal_safe(json_str(c, "issuer")).c_str(),
          c.value("self_signed", false) ? " (self-signed)" : "");
  std::string names = join(c.value("dns_names", json::array()), "DNS:");
  std::string ips = join(c.value("ip_addresses", json::array()), "IP:");
  if (!ips.empty()) names += (names.empty() ? "" : ", ") + ips;
  appendf(out, "      names    %s\n",
          names.empty() ? "(no subjectAltName)" : terminal_safe(names).c_str());
  appendf(out, "      valid    %s\n", terminal_safe(validity(c)).c_str());
  std::string key = json_str(c, "key_type");
  if (c.value("key_bits", 0) > 0) key += fmt::format(" {} bits", c.value("key_bits", 0));
  if (!json_str(c, "key_curve").empty()) key += " (" + json_str(c, "key_curve") + ")";
  appendf(out, "      key      %s, signed %s%s\n", terminal_safe(key).c_str(),
          terminal_safe(json_str(c, "signature_algorithm")).c_str(),
          c.value("is_ca", false) ? ", CA" : "");
  appendf(out, "      serial   %s\n", terminal_safe(json_str(c, "serial")).c_str());
  appendf(out, "      sha256   %s\n", terminal_safe(json_str(c, "sha256")).c_str());
}

}  // namespace

std::string render_tls_side(const std::string& label, const sonde::json& r) {
  std::string out;
  const json& t = r.value("target", json::object());
  std::string host = json_str(t, "host");
  std::string where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                      std::to_string(t.value("port", 0));
  std::string addr = json_str(r, "address");
  std::string sni = json_str(t, "sni");
  appendf(out, "== %s (host %s) → %s%s, SNI %s ==\n", terminal_safe(label).c_str(),
          terminal_safe(json_str(r, "host")).c_str(), terminal_safe(where).c_str(),
          addr.empty() || addr == host ? "" : (" (" + terminal_safe(addr) + ")").c_str(),
          sni.empty() ? "none" : terminal_safe(sni).c_str());
  // Failed addresses before the one that answered (when none did, the
  // error below lists them).
  if (!addr.empty())
    for (const auto& a : r.value("attempts", json::array()))
      appendf(out, "  connect %s: %s\n", terminal_safe(json_str(a, "address")).c_str(),
              terminal_safe(json_str(a, "error")).c_str());
  std::string outcome = json_str(r, "outcome");
  if (!r.value("tls", false)) {
    const json& b = r.value("banner", json());
    if (outcome == "not_tls") {
      appendf(out, "  NOT TLS: %s\n", terminal_safe(json_str(r, "error")).c_str());
      // The bytes themselves only when they are not a protocol we recognise.
      if (b.is_object() && json_str(b, "protocol").empty() && !json_str(b, "hex").empty())
        appendf(out, "  first bytes: %s%s\n", terminal_safe(json_str(b, "hex")).c_str(),
                b.value("bytes", 0) > 32 ? " ..." : "");
    } else {
      appendf(out, "  FAILED (%s): %s\n", terminal_safe(json_str(r, "stage")).c_str(),
              terminal_safe(json_str(r, "error")).c_str());
    }
  } else {
    const json& h = json_object(r, "handshake");
    std::string alpn = json_str(h, "alpn");
    appendf(out, "  TLS      %s, %s (%d bits), ALPN %s%s%s\n",
            terminal_safe(json_str(h, "version")).c_str(),
            terminal_safe(json_str(h, "cipher")).c_str(), h.value("cipher_bits", 0),
            alpn.empty() ? "none" : terminal_safe(alpn).c_str(),
            json_str(h, "key_exchange").empty()
                ? ""
                : (", key exchange " + terminal_safe(json_str(h, "key_exchange"))).c_str(),
            h.value("ocsp_stapled", false) ? ", OCSP stapled" : ", no OCSP staple");
    const json& chain = r.value("chain", json::array());
    appendf(out, "  chain as sent (%zu):\n", chain.size());
    for (const auto& c : chain) render_cert(out, c);
    const json& v = json_object(r, "verify");
    const json& st = v.value("store", json::object());
    std::string store = json_str(st, "kind");
    if (store == "ca_pem")
      store = fmt::format("--ca-file ({} certificates)", st.value("certs", 0));
    else if (store == "file" || store == "ca_file")
      store = fmt::format("{} ({} certificates)", json_str(st, "path"), st.value("certs", 0));
    else if (store == "dir")
      store = json_str(st, "path");
    else
      store = "no trust store found";
    if (v.value("ok", false)) {
      const json& tc = v.value("trusted_chain", json::array());
      appendf(
          out, "  verify   OK against %s%s\n", terminal_safe(store).c_str(),
          tc.empty()
              ? ""
              : (", anchored at \"" + terminal_safe(tc.back().get<std::string>()) + "\"").c_str());
    } else {
      appendf(out, "  verify   FAILED against %s:\n", terminal_safe(store).c_str());
      for (const auto& e : v.value("errors", json::array()))
        appendf(out, "           depth %ld: %s\n", e.value("depth", 0L),
                terminal_safe(json_str(e, "reason")).c_str());
    }
    const json& hn = json_object(r, "hostname");
    if (hn.value("ok", false)) {
      appendf(out, "  hostname %s: OK (matches %s)\n",
              terminal_safe(json_str(hn, "checked")).c_str(),
              terminal_safe(json_str(hn, "matched")).c_str());
    } else {
      std::string names;
      if (!chain.empty()) {
        names = join(chain[0].value("dns_names", json::array()), "DNS:");
        std::string ips = join(chain[0].value("ip_addresses", json::array()), "IP:");
        if (!ips.empty()) names += (names.empty() ? "" : ", ") + ips;
        if (names.empty() && !json_str(chain[0], "subject_cn").empty())
          names = "CN=" + json_str(chain[0], "subject_cn");
      }
      appendf(out, "  hostname %s: MISMATCH: the certificate names %s\n",
              terminal_safe(json_str(hn, "checked")).c_str(),
              names.empty() ? "nothing" : terminal_safe(names).c_str());
    }
  }
  const json& ms = r.value("ms", json::object());
  if (!addr.empty())
    appendf(out, "  time     connect %ld ms, handshake %ld ms\n", ms.value("connect", 0L),
            ms.value("handshake", 0L));
  for (const auto& n : r.value("notes", json::array()))
    if (n.is_string()) appendf(out, "  note: %s\n", terminal_safe(n.get<std::string>()).c_str());
  if (!json_str(r, "hint").empty())
    appendf(out, "  hint: %s\n", terminal_safe(json_str(r, "hint")).c_str());
  appendf(out, "  summary: %s\n", terminal_safe(json_str(r, "summary")).c_str());
  return out;
}

}  // namespace sonde::render
