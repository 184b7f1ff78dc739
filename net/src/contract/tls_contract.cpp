#include "sonde/net/tls_contract.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "read.h"
#include "sonde/common/json_read.h"
#include "sonde/net/address.h"

namespace sonde::net {
namespace {

using contract::bounded_strings;
using contract::read_list;

// A cap far above any real certificate's names (CDN certificates carry a
// few hundred): only a peer that is not our agent sends more.
constexpr size_t kMaxCertNames = 10000;
constexpr size_t kMaxListItems = 256;  // notes, verify errors, the trusted chain

const std::array<const char*, 4> kVersions = {"1.0", "1.1", "1.2", "1.3"};

// The index of a TLS version in kVersions, -1 when it is none of them.
int version_index(const std::string& v) {
  auto it = std::find(kVersions.begin(), kVersions.end(), v);
  return it == kVersions.end() ? -1 : static_cast<int>(it - kVersions.begin());
}

// A DNS name as SNI accepts it (RFC 6066: no address, no trailing dot).
bool valid_dns_name(const std::string& s) {
  if (s.empty() || s.size() > 253 || s.back() == '.' || is_ip_address(s)) return false;
  size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '*'))
      return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

Error bad_tls(std::string msg, std::string hint) {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

json cert_json(const TlsCert& c) {
  return {{"depth", c.depth},
          {"subject", c.subject},
          {"issuer", c.issuer},
          {"subject_cn", c.subject_cn},
          {"dns_names", c.dns_names},
          {"ip_addresses", c.ip_addresses},
          {"serial", c.serial},
          {"not_before", c.not_before},
          {"not_after", c.not_after},
          {"not_before_epoch", c.not_before_epoch},
          {"not_after_epoch", c.not_after_epoch},
          {"days_left", c.days_left},
          {"not_yet_valid", c.not_yet_valid},
          {"key_type", c.key_type},
          {"key_bits", c.key_bits},
          {"key_curve", c.key_curve},
          {"signature_algorithm", c.signature_algorithm},
          {"sha256", c.sha256},
          {"self_signed", c.self_signed},
          {"is_ca", c.is_ca}};
}

void read_cert(JsonReader& r, const json& cj, const JsonPath& w, TlsCert& c) {
  r.integer(cj, "depth", w, c.depth);
  r.string(cj, "subject", w, c.subject);
  r.string(cj, "issuer", w, c.issuer);
  r.string(cj, "subject_cn", w, c.subject_cn);
  bounded_strings(r, cj, "dns_names", w, c.dns_names, kMaxCertNames);
  bounded_strings(r, cj, "ip_addresses", w, c.ip_addresses, kMaxCertNames);
  r.string(cj, "serial", w, c.serial);
  r.string(cj, "not_before", w, c.not_before);
  r.string(cj, "not_after", w, c.not_after);
  r.integer(cj, "not_before_epoch", w, c.not_before_epoch);
  r.integer(cj, "not_after_epoch", w, c.not_after_epoch);
  r.integer(cj, "days_left", w, c.days_left);
  r.boolean(cj, "not_yet_valid", w, c.not_yet_valid);
  r.string(cj, "key_type", w, c.key_type);
  r.integer(cj, "key_bits", w, c.key_bits);
  r.string(cj, "key_curve", w, c.key_curve);
  r.string(cj, "signature_algorithm", w, c.signature_algorithm);
  r.string(cj, "sha256", w, c.sha256);
  r.boolean(cj, "self_signed", w, c.self_signed);
  r.boolean(cj, "is_ca", w, c.is_ca);
}

// The parts that exist only once a handshake completed.
void read_handshake(JsonReader& r, const json& j, TlsResult& out) {
  const JsonPath w = JsonPath{} / "handshake";
  if (const json* h = r.map(j, "handshake", {})) {
    r.string(*h, "version", w, out.version);
    r.string(*h, "cipher", w, out.cipher);
    r.string(*h, "cipher_iana", w, out.cipher_iana);
    r.integer(*h, "cipher_bits", w, out.cipher_bits);
    r.string(*h, "alpn", w, out.alpn);
    r.string(*h, "key_exchange", w, out.key_exchange);
    r.boolean(*h, "ocsp_stapled", w, out.ocsp_stapled);
    r.boolean(*h, "client_cert_requested", w, out.client_cert_requested);
  }
  const JsonPath v = JsonPath{} / "verify";
  if (const json* vj = r.map(j, "verify", {})) {
    r.boolean(*vj, "ok", v, out.verified);
    if (const json* st = r.map(*vj, "store", v)) {
      r.string(*st, "kind", v / "store", out.store_kind);
      r.string(*st, "path", v / "store", out.store_path);
      r.integer(*st, "certs", v / "store", out.store_certs);
    }
    read_list(r, *vj, "errors", v, kMaxListItems, out.verify_errors,
              [](JsonReader& r, const json& ej, const JsonPath& ew, TlsVerifyError& e) {
                r.integer(ej, "depth", ew, e.depth);
                r.integer(ej, "code", ew, e.code);
                r.string(ej, "reason", ew, e.reason);
              });
    bounded_strings(r, *vj, "trusted_chain", v, out.trusted_chain, kMaxListItems);
  }
  const JsonPath hw = JsonPath{} / "hostname";
  if (const json* hn = r.map(j, "hostname", {})) {
    r.string(*hn, "checked", hw, out.hostname_checked);
    r.boolean(*hn, "is_ip", hw, out.hostname_is_ip);
    r.boolean(*hn, "ok", hw, out.hostname_ok);
    r.string(*hn, "matched", hw, out.hostname_matched);
  }
}

}  // namespace

json to_json(const TlsArgs& a) {
  json j = {{"host", a.host},
            {"port", a.port},
            {"timeout_ms", a.timeout_ms},
            {"banner_wait_ms", a.banner_wait_ms}};
  if (!a.sni.empty()) j["sni"] = a.sni;
  if (a.no_sni) j["no_sni"] = true;
  if (a.alpn != TlsArgs{}.alpn) j["alpn"] = a.alpn;
  if (!a.ca_pem.empty()) j["ca_pem"] = a.ca_pem;
  if (!a.ca_file.empty()) j["ca_file"] = a.ca_file;
  if (!a.min_version.empty()) j["min_version"] = a.min_version;
  if (!a.max_version.empty()) j["max_version"] = a.max_version;
  return j;
}

Result<TlsArgs> tls_args_from_json(const json& j) {
  auto r = JsonReader::args("net.tls");
  TlsArgs a;
  if (!r.object(j, {})) return r.error();
  r.string(j, "host", {}, a.host);
  r.integer(j, "port", {}, a.port);
  r.string(j, "sni", {}, a.sni);
  r.boolean(j, "no_sni", {}, a.no_sni);
  if (r.field(j, "alpn", {})) {
    std::vector<std::string> alpn;
    bounded_strings(r, j, "alpn", {}, alpn, kMaxAlpn);
    a.alpn = std::move(alpn);
  }
  r.string(j, "ca_pem", {}, a.ca_pem);
  r.string(j, "ca_file", {}, a.ca_file);
  r.integer(j, "timeout_ms", {}, a.timeout_ms);
  r.integer(j, "banner_wait_ms", {}, a.banner_wait_ms);
  r.string(j, "min_version", {}, a.min_version);
  r.string(j, "max_version", {}, a.max_version);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const TlsArgs& a) {
  const char* usage = "sonde tls HOST:PORT";
  if (a.host.empty() || a.host.size() > 253)
    return bad_tls("the host must be 1..253 characters", usage);
  for (char c : a.host)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '[' || c == ']')
      return bad_tls("the host has characters a host name cannot have",
                     "IPv6 addresses go in brackets: sonde tls [::1]:443");
  if (a.port < 1 || a.port > 65535)
    return bad_tls(fmt::format("port {} is not in 1..65535", a.port), usage);
  if (!a.sni.empty() && a.no_sni) return bad_tls("--sni and --no-sni together", "choose one");
  if (!a.sni.empty() && !valid_dns_name(a.sni))
    return bad_tls(
        "the SNI name `" + tls_utf8_safe(a.sni) + "` is not a DNS name",
        "SNI carries a host name, never an address (RFC 6066); use --no-sni to send none");
  if (a.alpn.size() > kMaxAlpn)
    return bad_tls(fmt::format("--alpn: at most {} protocols", kMaxAlpn), "--alpn h2,http/1.1");
  for (const auto& p : a.alpn)
    if (p.empty() || p.size() > 255)
      return bad_tls("--alpn has an empty or over-long protocol name (1..255 bytes each)",
                     "--alpn h2,http/1.1 (or none)");
  for (const auto& [opt, v] :
       {std::pair{"--tls-min", &a.min_version}, {"--tls-max", &a.max_version}})
    if (!v->empty() && version_index(*v) < 0)
      return bad_tls(fmt::format("{} `{}` is not a TLS version", opt, tls_utf8_safe(*v)),
                     "one of 1.0, 1.1, 1.2, 1.3");
  if (!a.min_version.empty() && !a.max_version.empty() &&
      version_index(a.min_version) > version_index(a.max_version))
    return bad_tls("--tls-min is above --tls-max",
                   "--tls-min 1.2 --tls-max 1.3, or just one of them");
  if (a.timeout_ms < 1 || a.timeout_ms > kMaxTlsTimeoutMs)
    return bad_tls(fmt::format("--timeout must be between 1ms and {}s", kMaxTlsTimeoutMs / 1000),
                   "e.g. --timeout 5s, the default, per stage (connect, then handshake); a plain "
                   "number is seconds");
  if (a.banner_wait_ms < 0 || a.banner_wait_ms > kMaxBannerWaitMs)
    return bad_tls(fmt::format("--banner-wait must be at most {}ms", kMaxBannerWaitMs),
                   "the default is 300ms; 0 skips listening for a server that talks first");
  if (a.ca_pem.size() > kMaxCaPem)
    return bad_tls("the CA PEM is over 1 MiB", "give just the CA certificate(s)");
  if (!a.ca_pem.empty() && !a.ca_file.empty())
    return bad_tls("give ca_pem or ca_file, not both", "--ca-file sends the file's PEM text");
  return ok_status();
}

json to_json(const TlsResult& r) {
  json chain = json::array();
  for (const auto& c : r.chain) chain.push_back(cert_json(c));
  json errs = json::array();
  for (const auto& e : r.verify_errors)
    errs.push_back({{"depth", e.depth}, {"code", e.code}, {"reason", e.reason}});
  json attempts = json::array();
  for (const auto& [a, e] : r.attempts) attempts.push_back({{"address", a}, {"error", e}});
  json j;
  j["host"] = r.agent_host;
  j["target"] = {
      {"host", r.host}, {"port", r.port}, {"sni", r.sni}, {"alpn_offered", r.alpn_offered}};
  j["stage"] = r.stage;
  j["outcome"] = r.outcome;
  j["tls"] = r.tls;
  j["ok"] = r.ok;
  j["error"] = r.error;
  j["hint"] = r.hint;
  j["failure"] = {{"kind", r.failure_kind}, {"alert", r.alert}};
  j["addresses"] = r.addresses;
  j["address"] = r.address;
  j["attempts"] = attempts;
  j["banner"] = r.banner_seen ? json{{"server_first", r.server_first},
                                     {"text", r.banner_text},
                                     {"hex", r.banner_hex},
                                     {"bytes", r.banner_bytes},
                                     {"protocol", r.banner_protocol}}
                              : json(nullptr);
  j["handshake"] = r.tls ? json{{"version", r.version},
                                {"cipher", r.cipher},
                                {"cipher_iana", r.cipher_iana},
                                {"cipher_bits", r.cipher_bits},
                                {"alpn", r.alpn},
                                {"key_exchange", r.key_exchange},
                                {"ocsp_stapled", r.ocsp_stapled},
                                {"client_cert_requested", r.client_cert_requested}}
                         : json(nullptr);
  j["chain"] = chain;
  j["verify"] =
      r.tls ? json{{"ok", r.verified},
                   {"store",
                    {{"kind", r.store_kind}, {"path", r.store_path}, {"certs", r.store_certs}}},
                   {"reason", r.verify_errors.empty() ? "" : r.verify_errors[0].reason},
                   {"errors", errs},
                   {"trusted_chain", r.trusted_chain}}
            : json(nullptr);
  j["hostname"] = r.tls ? json{{"checked", r.hostname_checked},
                               {"is_ip", r.hostname_is_ip},
                               {"ok", r.hostname_ok},
                               {"matched", r.hostname_matched}}
                        : json(nullptr);
  j["ms"] = {{"connect", r.connect_ms}, {"handshake", r.handshake_ms}, {"total", r.total_ms}};
  j["notes"] = r.notes;
  j["summary"] = r.summary;
  return j;
}

Result<TlsResult> tls_result_from_json(const json& j) {
  auto r = JsonReader::reply("net.tls");
  TlsResult out;
  if (!r.object(j, {})) return r.error();
  r.string(j, "host", {}, out.agent_host);
  const JsonPath t = JsonPath{} / "target";
  if (const json* tj = r.map(j, "target", {}, Need::kRequired)) {
    r.string(*tj, "host", t, out.host);
    r.integer(*tj, "port", t, out.port);
    r.string(*tj, "sni", t, out.sni);
    bounded_strings(r, *tj, "alpn_offered", t, out.alpn_offered, kMaxAlpn);
  }
  r.string(j, "stage", {}, out.stage);
  r.string(j, "outcome", {}, out.outcome, Need::kRequired);
  r.boolean(j, "tls", {}, out.tls);
  r.boolean(j, "ok", {}, out.ok);
  r.string(j, "error", {}, out.error);
  r.string(j, "hint", {}, out.hint);
  if (const json* f = r.map(j, "failure", {})) {
    r.string(*f, "kind", JsonPath{} / "failure", out.failure_kind);
    r.string(*f, "alert", JsonPath{} / "failure", out.alert);
  }
  bounded_strings(r, j, "addresses", {}, out.addresses, kMaxTlsAddresses);
  r.string(j, "address", {}, out.address);
  read_list(
      r, j, "attempts", {}, kMaxTlsAddresses, out.attempts,
      [](JsonReader& r, const json& aj, const JsonPath& w, std::pair<std::string, std::string>& a) {
        r.string(aj, "address", w, a.first);
        r.string(aj, "error", w, a.second);
      });
  if (const json* b = r.map(j, "banner", {})) {
    const JsonPath w = JsonPath{} / "banner";
    out.banner_seen = true;
    r.boolean(*b, "server_first", w, out.server_first);
    r.string(*b, "text", w, out.banner_text);
    r.string(*b, "hex", w, out.banner_hex);
    r.integer(*b, "bytes", w, out.banner_bytes);
    r.string(*b, "protocol", w, out.banner_protocol);
  }
  read_handshake(r, j, out);
  read_list(r, j, "chain", {}, kMaxTlsChain, out.chain, read_cert);
  if (const json* ms = r.map(j, "ms", {})) {
    r.integer(*ms, "connect", JsonPath{} / "ms", out.connect_ms);
    r.integer(*ms, "handshake", JsonPath{} / "ms", out.handshake_ms);
    r.integer(*ms, "total", JsonPath{} / "ms", out.total_ms);
  }
  bounded_strings(r, j, "notes", {}, out.notes, kMaxListItems);
  r.string(j, "summary", {}, out.summary);
  if (r.failed()) return r.error();
  return out;
}

std::string tls_utf8_safe(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok && n == 2 && c < 0xc2) ok = false;  // overlong
    if (!ok) {
      out += '?';
      ++i;
      continue;
    }
    if (n == 1 && (c < 0x20 || c == 0x7f)) {
      out += '?';
    } else {
      out.append(s, i, n);
    }
    i += n;
  }
  return out;
}

}  // namespace sonde::net
