// sonde tls HOST:PORT [--from TARGET]...: does the port speak TLS, what does
// it negotiate and show (the chain as sent), does it verify against the trust
// store and the name, as seen from this machine (a local agent), the --via
// agent and each --from target, side by side with the differences pointed
// out. The probe itself runs in the agents (net.tls); this file only asks and
// renders, so the controller never links OpenSSL.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "../cli/command.h"
#include "../cli/sides.h"
#include "sonde/render/table.h"

namespace sonde::controller {
namespace {

std::string safe(const std::string& s) {
  return render::terminal_safe(s);
}

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// The map under key, or an empty one: results come from the agent, and the
// const operator[] would read past the end for a key it left out.
const json& member(const json& j, const char* key) {
  static const json empty = json::object();
  if (!j.is_object()) return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

// The leaf certificate of a result's chain, or an empty map.
const json& first_cert(const json& r) {
  static const json empty = json::object();
  if (!r.is_object()) return empty;
  auto c = r.find("chain");
  return c != r.end() && c->is_array() && !c->empty() && (*c)[0].is_object() ? (*c)[0] : empty;
}

std::string join(const json& arr, const std::string& prefix = "", const char* sep = ", ") {
  std::string out;
  if (!arr.is_array()) return out;
  for (const auto& a : arr)
    if (a.is_string()) out += (out.empty() ? "" : sep) + prefix + a.get<std::string>();
  return out;
}

struct Endpoint {
  std::string host;
  int port = 443;
};

bool parse_port(const std::string& s, int& port) {
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  port = std::stoi(s);
  return port >= 1 && port <= 65535;
}

// "host:port", "[v6]:port", "host", "v6", or a URL: "https://host[:port]/path".
Result<Endpoint> parse_endpoint(std::string s) {
  Endpoint e;
  const Error usage{errc::kBadArgs, "", "sonde tls HOST:PORT, [IPv6]:PORT or https://HOST[:PORT]"};
  auto bad = [&](std::string msg) {
    Error err = usage;
    err.message = std::move(msg);
    return err;
  };
  if (auto scheme = s.find("://"); scheme != std::string::npos) {
    static const std::pair<const char*, int> kSchemes[] = {
        {"https", 443}, {"tls", 443},   {"wss", 443},  {"ldaps", 636}, {"imaps", 993},
        {"pop3s", 995}, {"smtps", 465}, {"ftps", 990}, {"mqtts", 8883}};
    std::string sch = s.substr(0, scheme);
    for (auto& c : sch) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool known = false;
    for (const auto& [name, port] : kSchemes)
      if (sch == name) {
        e.port = port;
        known = true;
      }
    if (!known)
      return bad("`" + safe(sch) + "://` is not a TLS scheme" +
                 (sch == "http" ? " (http:// is plaintext)" : ""));
    s = s.substr(scheme + 3);
    if (auto slash = s.find_first_of("/?#"); slash != std::string::npos) s.resize(slash);
    if (auto at = s.rfind('@'); at != std::string::npos) s = s.substr(at + 1);  // user info
  }
  if (s.empty()) return bad("sonde tls needs HOST:PORT");
  if (s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return bad("missing `]` in `" + safe(s) + "`");
    e.host = s.substr(1, close - 1);
    std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':' || !parse_port(rest.substr(1), e.port))
        return bad("`" + safe(rest) + "` after the address is not :PORT (1..65535)");
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    auto c = s.find(':');
    e.host = s.substr(0, c);
    if (!parse_port(s.substr(c + 1), e.port))
      return bad("`" + safe(s.substr(c + 1)) + "` is not a port number (1..65535)");
  } else {
    e.host = s;  // a name, or a bare IPv6 address: the default port
  }
  if (e.host.empty()) return bad("no host in `" + safe(s) + "`");
  for (char c : e.host)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '[' || c == ']' || c == '@')
      return bad("`" + safe(e.host) + "` is not a host name or address");
  return e;
}

Result<std::string> read_ca_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Error{errc::kBadArgs, "cannot read --ca-file " + path + ": " + std::strerror(errno),
                 "give a PEM file with the CA certificate(s) on this machine"};
  std::string text;
  text.resize(1u << 20);
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  if (f.gcount() == (1 << 20) && f.peek() != EOF)
    return Error{errc::kBadArgs, "--ca-file " + path + " is over 1 MiB",
                 "give just the CA certificate(s)"};
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return Error{errc::kBadArgs, "--ca-file " + path + " holds no PEM certificate",
                 "a DER file converts with: openssl x509 -inform DER -in FILE -out FILE.pem"};
  return text;
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
  return day(str(c, "not_before")) + " → " + day(str(c, "not_after")) + " (" + left + ")";
}

void print_cert(const json& c) {
  std::printf("    %ld subject  %s\n", c.value("depth", 0L), safe(str(c, "subject")).c_str());
  std::printf("      issuer   %s%s\n", safe(str(c, "issuer")).c_str(),
              c.value("self_signed", false) ? " (self-signed)" : "");
  std::string names = join(c.value("dns_names", json::array()), "DNS:");
  std::string ips = join(c.value("ip_addresses", json::array()), "IP:");
  if (!ips.empty()) names += (names.empty() ? "" : ", ") + ips;
  std::printf("      names    %s\n", names.empty() ? "(no subjectAltName)" : safe(names).c_str());
  std::printf("      valid    %s\n", safe(validity(c)).c_str());
  std::string key = str(c, "key_type");
  if (c.value("key_bits", 0) > 0) key += fmt::format(" {} bits", c.value("key_bits", 0));
  if (!str(c, "key_curve").empty()) key += " (" + str(c, "key_curve") + ")";
  std::printf("      key      %s, signed %s%s\n", safe(key).c_str(),
              safe(str(c, "signature_algorithm")).c_str(), c.value("is_ca", false) ? ", CA" : "");
  std::printf("      serial   %s\n", safe(str(c, "serial")).c_str());
  std::printf("      sha256   %s\n", safe(str(c, "sha256")).c_str());
}

void print_side(const std::string& label, const json& r) {
  const json& t = r.value("target", json::object());
  std::string host = str(t, "host");
  std::string where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                      std::to_string(t.value("port", 0));
  std::string addr = str(r, "address");
  std::string sni = str(t, "sni");
  std::printf("== %s (host %s) → %s%s, SNI %s ==\n", safe(label).c_str(),
              safe(str(r, "host")).c_str(), safe(where).c_str(),
              addr.empty() || addr == host ? "" : (" (" + safe(addr) + ")").c_str(),
              sni.empty() ? "none" : safe(sni).c_str());
  // Failed addresses before the one that answered (when none did, the
  // error below lists them).
  if (!addr.empty())
    for (const auto& a : r.value("attempts", json::array()))
      std::printf("  connect %s: %s\n", safe(str(a, "address")).c_str(),
                  safe(str(a, "error")).c_str());
  std::string outcome = str(r, "outcome");
  if (!r.value("tls", false)) {
    const json& b = r.value("banner", json());
    if (outcome == "not_tls") {
      std::printf("  NOT TLS: %s\n", safe(str(r, "error")).c_str());
      // The bytes themselves only when they are not a protocol we recognise.
      if (b.is_object() && str(b, "protocol").empty() && !str(b, "hex").empty())
        std::printf("  first bytes: %s%s\n", safe(str(b, "hex")).c_str(),
                    b.value("bytes", 0) > 32 ? " ..." : "");
    } else {
      std::printf("  FAILED (%s): %s\n", safe(str(r, "stage")).c_str(),
                  safe(str(r, "error")).c_str());
    }
  } else {
    const json& h = member(r, "handshake");
    std::string alpn = str(h, "alpn");
    std::printf("  TLS      %s, %s (%d bits), ALPN %s%s%s\n", safe(str(h, "version")).c_str(),
                safe(str(h, "cipher")).c_str(), h.value("cipher_bits", 0),
                alpn.empty() ? "none" : safe(alpn).c_str(),
                str(h, "key_exchange").empty()
                    ? ""
                    : (", key exchange " + safe(str(h, "key_exchange"))).c_str(),
                h.value("ocsp_stapled", false) ? ", OCSP stapled" : ", no OCSP staple");
    const json& chain = r.value("chain", json::array());
    std::printf("  chain as sent (%zu):\n", chain.size());
    for (const auto& c : chain) print_cert(c);
    const json& v = member(r, "verify");
    const json& st = v.value("store", json::object());
    std::string store = str(st, "kind");
    if (store == "ca_pem")
      store = fmt::format("--ca-file ({} certificates)", st.value("certs", 0));
    else if (store == "file" || store == "ca_file")
      store = fmt::format("{} ({} certificates)", str(st, "path"), st.value("certs", 0));
    else if (store == "dir")
      store = str(st, "path");
    else
      store = "no trust store found";
    if (v.value("ok", false)) {
      const json& tc = v.value("trusted_chain", json::array());
      std::printf("  verify   OK against %s%s\n", safe(store).c_str(),
                  tc.empty()
                      ? ""
                      : (", anchored at \"" + safe(tc.back().get<std::string>()) + "\"").c_str());
    } else {
      std::printf("  verify   FAILED against %s:\n", safe(store).c_str());
      for (const auto& e : v.value("errors", json::array()))
        std::printf("           depth %ld: %s\n", e.value("depth", 0L),
                    safe(str(e, "reason")).c_str());
    }
    const json& hn = member(r, "hostname");
    if (hn.value("ok", false)) {
      std::printf("  hostname %s: OK (matches %s)\n", safe(str(hn, "checked")).c_str(),
                  safe(str(hn, "matched")).c_str());
    } else {
      std::string names;
      if (!chain.empty()) {
        names = join(chain[0].value("dns_names", json::array()), "DNS:");
        std::string ips = join(chain[0].value("ip_addresses", json::array()), "IP:");
        if (!ips.empty()) names += (names.empty() ? "" : ", ") + ips;
        if (names.empty() && !str(chain[0], "subject_cn").empty())
          names = "CN=" + str(chain[0], "subject_cn");
      }
      std::printf("  hostname %s: MISMATCH: the certificate names %s\n",
                  safe(str(hn, "checked")).c_str(),
                  names.empty() ? "nothing" : safe(names).c_str());
    }
  }
  const json& ms = r.value("ms", json::object());
  if (!addr.empty())
    std::printf("  time     connect %ld ms, handshake %ld ms\n", ms.value("connect", 0L),
                ms.value("handshake", 0L));
  for (const auto& n : r.value("notes", json::array()))
    if (n.is_string()) std::printf("  note: %s\n", safe(n.get<std::string>()).c_str());
  if (!str(r, "hint").empty()) std::printf("  hint: %s\n", safe(str(r, "hint")).c_str());
  std::printf("  summary: %s\n", safe(str(r, "summary")).c_str());
}

std::string leaf_fp(const json& r) {
  const json& c = r.value("chain", json::array());
  return c.empty() ? "" : str(c[0], "sha256");
}

std::string short_fp(const std::string& fp) {
  return fp.size() > 23 ? fp.substr(0, 23) + "…" : fp;
}

// One sentence per difference between the first side and each other one.
std::vector<std::string> tls_differences(const std::vector<json>& sides) {
  std::vector<std::string> out;
  if (sides.size() < 2) return out;
  const std::string a = sides[0].value("side", "");
  const json& ra = member(sides[0], "result");
  for (size_t i = 1; i < sides.size(); ++i) {
    const std::string b = sides[i].value("side", "");
    const json& rb = member(sides[i], "result");
    bool ta = ra.value("tls", false), tb = rb.value("tls", false);
    std::string oa = str(ra, "outcome"), ob = str(rb, "outcome");
    if (str(ra, "address") != str(rb, "address") && !str(ra, "address").empty() &&
        !str(rb, "address").empty())
      out.push_back(
          fmt::format("{} connects to {}, {} to {}: the name resolves differently "
                      "(`sonde dns`)",
                      a, str(ra, "address"), b, str(rb, "address")));
    if (ta != tb) {
      const std::string& ok_side = ta ? a : b;
      const std::string& bad_side = ta ? b : a;
      const json& bad = ta ? rb : ra;
      std::string why = str(bad, "error");
      if (str(bad, "outcome") == "not_tls")
        out.push_back(
            fmt::format("{} gets TLS, {} does not ({}): something on {}'s path answers "
                        "instead of the server (a proxy, a captive portal, a different "
                        "service)?",
                        ok_side, bad_side, why, bad_side));
      else
        out.push_back(fmt::format("{} gets TLS, {} does not: {}", ok_side, bad_side, why));
      continue;
    }
    if (!ta) {
      if (oa != ob)
        out.push_back(fmt::format("neither side gets TLS, for different reasons: {}: {}; {}: {}", a,
                                  str(ra, "error"), b, str(rb, "error")));
      else if (str(ra, "error") != str(rb, "error"))
        out.push_back(fmt::format("{}: {}; {}: {}", a, str(ra, "error"), b, str(rb, "error")));
      continue;
    }
    std::string fa = leaf_fp(ra), fb = leaf_fp(rb);
    if (fa != fb) {
      const json& ca = first_cert(ra);
      const json& cb = first_cert(rb);
      bool issuer_differs = str(ca, "issuer") != str(cb, "issuer");
      out.push_back(fmt::format(
          "different certificates: {} sees {} (issuer {}), {} sees {} (issuer {}): {}", a,
          short_fp(fa), str(ca, "issuer"), b, short_fp(fb), str(cb, "issuer"),
          issuer_differs ? "a TLS-intercepting proxy on one path?"
                         : "different servers behind one name (load balancer, a renewal not "
                           "deployed everywhere)?"));
    }
    const json& ha = member(ra, "handshake");
    const json& hb = member(rb, "handshake");
    for (const char* k : {"version", "cipher", "alpn"})
      if (str(ha, k) != str(hb, k))
        out.push_back(
            fmt::format("{} negotiates {} {}, {} {}: a proxy or a different server "
                        "in between?",
                        a, k, str(ha, k).empty() ? "none" : str(ha, k), b,
                        str(hb, k).empty() ? "none" : str(hb, k)));
    bool va = member(ra, "verify").value("ok", false), vb = member(rb, "verify").value("ok", false);
    if (va != vb) {
      const std::string& bad_side = va ? b : a;
      const json& bad = va ? rb : ra;
      out.push_back(fmt::format(
          "{} verifies the chain, {} does not ({}){}", va ? a : b, bad_side,
          str(member(bad, "verify"), "reason"),
          fa == fb ? ": same certificate, so " + bad_side + "'s trust store lacks the CA" : ""));
    }
    bool hna = member(ra, "hostname").value("ok", false),
         hnb = member(rb, "hostname").value("ok", false);
    if (hna != hnb)
      out.push_back(
          fmt::format("the hostname matches on {} but not on {}", hna ? a : b, hna ? b : a));
  }
  return out;
}

}  // namespace

CommandSpec tls_command() {
  CommandSpec c;
  c.name = "tls";
  c.summary =
      "does HOST:PORT speak TLS: version, cipher, ALPN, the chain, verification and the name, "
      "here and on --from targets";
  c.synopsis =
      "tls HOST:PORT [--from TARGET]... [--sni NAME | --no-sni] [--alpn LIST] [--ca-file FILE] "
      "[--tls-min V] [--tls-max V] [--timeout MS] [--banner-wait MS]  (exit 0 only when TLS works "
      "and verifies on every side)";
  c.needs_target = false;
  c.options = [](po::options_description& o) {
    o.add_options()("from", po::value<std::vector<std::string>>()->composing(),
                    "also probe from this target (repeatable)")(
        "sni", po::value<std::string>(),
        "send this server name (default: HOST when it is a name); the hostname check uses it")(
        "no-sni", po::bool_switch(), "send no server name")(
        "alpn", po::value<std::string>(),
        "protocols to offer, comma-separated (default h2,http/1.1; `none` offers none)")(
        "ca-file", po::value<std::string>(),
        "verify against the CA certificate(s) in this PEM file (read here, sent to each side) "
        "instead of each side's system store")("tls-min", po::value<std::string>(),
                                               "lowest TLS version to offer: 1.0 1.1 1.2 1.3")(
        "tls-max", po::value<std::string>(), "highest TLS version to offer: 1.0 1.1 1.2 1.3")(
        "timeout", po::value<long>()->default_value(5000),
        "ms for the connect (all addresses), and again for the handshake")(
        "banner-wait", po::value<long>()->default_value(300),
        "ms to listen for a server that talks first (SSH, SMTP) before the handshake; 0: don't");
  };
  c.run = [](CommandContext& ctx) -> int {
    if (ctx.target.empty())
      return ctx.fail(Error{errc::kBadArgs, "sonde tls needs HOST:PORT",
                            "sonde tls HOST:PORT [--from TARGET]..."});
    auto ep = parse_endpoint(ctx.target);
    if (!ep) return ctx.fail(ep.error());
    json args = {{"host", ep->host}, {"port", ep->port}};
    if (ctx.vm.count("sni")) {
      std::string sni = ctx.vm["sni"].as<std::string>();
      if (sni.empty())
        return ctx.fail(Error{errc::kBadArgs, "--sni needs a name", "use --no-sni to send none"});
      args["sni"] = sni;
    }
    if (ctx.vm["no-sni"].as<bool>()) {
      if (ctx.vm.count("sni"))
        return ctx.fail(Error{errc::kBadArgs, "--sni and --no-sni together", "choose one"});
      args["no_sni"] = true;
    }
    if (ctx.vm.count("alpn")) {
      std::string list = ctx.vm["alpn"].as<std::string>();
      json alpn = json::array();
      if (list != "none" && !list.empty()) {
        std::stringstream ss(list);
        std::string item;
        while (std::getline(ss, item, ',')) {
          if (item.empty() || item.size() > 255)
            return ctx.fail(Error{errc::kBadArgs,
                                  "--alpn `" + safe(list) +
                                      "` has an empty or "
                                      "over-long protocol name",
                                  "--alpn h2,http/1.1 (or none)"});
          alpn.push_back(item);
        }
      }
      args["alpn"] = alpn;
    }
    if (ctx.vm.count("ca-file")) {
      auto pem = read_ca_file(ctx.vm["ca-file"].as<std::string>());
      if (!pem) return ctx.fail(pem.error());
      args["ca_pem"] = *pem;
    }
    for (const char* opt : {"tls-min", "tls-max"}) {
      if (!ctx.vm.count(opt)) continue;
      std::string v = ctx.vm[opt].as<std::string>();
      if (v.rfind("TLSv", 0) == 0 || v.rfind("tlsv", 0) == 0) v = v.substr(4);
      if (v != "1.0" && v != "1.1" && v != "1.2" && v != "1.3")
        return ctx.fail(Error{errc::kBadArgs,
                              fmt::format("--{} `{}` is not a TLS version", opt, safe(v)),
                              "one of 1.0, 1.1, 1.2, 1.3"});
      args[std::string(opt) == "tls-min" ? "min_version" : "max_version"] = v;
    }
    if (args.contains("min_version") && args.contains("max_version") &&
        args["min_version"].get<std::string>() > args["max_version"].get<std::string>())
      return ctx.fail(Error{errc::kBadArgs, "--tls-min is above --tls-max",
                            "--tls-min 1.2 --tls-max 1.3, or just one of them"});
    long timeout = ctx.vm["timeout"].as<long>();
    if (timeout < 1 || timeout > 120000)
      return ctx.fail(Error{errc::kBadArgs, "--timeout must be 1..120000 ms",
                            "the default is 5000 (per stage: connect, then handshake)"});
    args["timeout_ms"] = timeout;
    long banner = ctx.vm["banner-wait"].as<long>();
    if (banner < 0 || banner > 10000)
      return ctx.fail(Error{errc::kBadArgs, "--banner-wait must be 0..10000 ms",
                            "the default is 300; 0 skips listening for a server that talks first"});
    args["banner_wait_ms"] = banner;

    std::vector<json> results;
    bool failed = false;
    for (auto& side : check_sides(ctx)) {
      auto s = side.ctx.connect();
      Result<json> r = s ? (*s)->call("net.tls", args) : Result<json>(s.error());
      if (!r) {
        const Error& e = r.error();
        // A cancel stops everything; bad arguments would be bad on every side.
        if (e.code == errc::kCancelled || e.code == errc::kBadArgs) return ctx.fail(e);
        failed = true;
        print_side_error(side.label, e);
        continue;
      }
      if (!r->value("ok", false)) failed = true;
      results.push_back({{"side", side.label}, {"result", *r}});
    }
    auto diffs = tls_differences(results);
    if (ctx.g.json) {
      ctx.print_json({{"host", ep->host},
                      {"port", ep->port},
                      {"ok", !failed},
                      {"sides", results},
                      {"differences", diffs}});
    } else {
      print_sides(results, print_side, diffs);
    }
    return failed ? exit_code::kFailed : exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
