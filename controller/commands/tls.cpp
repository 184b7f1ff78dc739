// sonde tls HOST:PORT [--from TARGET]...: does the port speak TLS, what does
// it negotiate and show (the chain as sent), does it verify against the trust
// store and the name, as seen from this machine (a local agent), the --via
// agent and each --from target, side by side with the differences pointed
// out. The probe itself runs in the agents (net.tls); this file only asks and
// renders, so the controller never links OpenSSL.
#include <cerrno>
#include <cstring>
#include <sstream>

#include "../cli/command.h"
#include "../cli/sides.h"
#include "../cli/status_line.h"
#include "sonde/net/tls_contract.h"
#include "sonde/render/sides.h"
#include "sonde/render/table.h"
#include "sonde/render/tls.h"

namespace sonde::controller {
namespace {

struct TlsEndpoint {
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
Result<TlsEndpoint> parse_endpoint(std::string s) {
  TlsEndpoint e;
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
      return bad("`" + render::terminal_safe(sch) + "://` is not a TLS scheme" +
                 (sch == "http" ? " (http:// is plaintext)" : ""));
    s = s.substr(scheme + 3);
    if (auto slash = s.find_first_of("/?#"); slash != std::string::npos) s.resize(slash);
    if (auto at = s.rfind('@'); at != std::string::npos) s = s.substr(at + 1);  // user info
  }
  if (s.empty()) return bad("missing HOST:PORT");
  if (s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return bad("missing `]` in `" + render::terminal_safe(s) + "`");
    e.host = s.substr(1, close - 1);
    std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':' || !parse_port(rest.substr(1), e.port))
        return bad("`" + render::terminal_safe(rest) +
                   "` after the address is not :PORT (1..65535)");
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    auto c = s.find(':');
    e.host = s.substr(0, c);
    if (!parse_port(s.substr(c + 1), e.port))
      return bad("`" + render::terminal_safe(s.substr(c + 1)) +
                 "` is not a port number (1..65535)");
  } else {
    e.host = s;  // a name, or a bare IPv6 address: the default port
  }
  if (e.host.empty()) return bad("no host in `" + render::terminal_safe(s) + "`");
  for (char c : e.host)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '[' || c == ']' || c == '@')
      return bad("`" + render::terminal_safe(e.host) + "` is not a host name or address");
  return e;
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
      "[--tls-min V] [--tls-max V] [--timeout 5s] [--banner-wait 300ms]  (exit 0 only when TLS "
      "works "
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
        "timeout", po::value<std::string>()->default_value("5s"),
        "for the connect (all addresses), and again for the handshake (e.g. 5s, 500ms)")(
        "banner-wait", po::value<std::string>()->default_value("300ms"),
        "how long to listen for a server that talks first (SSH, SMTP) before the handshake; "
        "0: don't");
  };
  c.run = [](CommandContext& ctx) -> int {
    if (ctx.target.empty())
      return ctx.fail(
          Error{errc::kBadArgs, "missing HOST:PORT", "sonde tls HOST:PORT [--from TARGET]..."});
    auto ep = parse_endpoint(ctx.target);
    if (!ep) return ctx.fail(ep.error());
    net::TlsArgs args;
    args.host = ep->host;
    args.port = ep->port;
    if (ctx.vm.count("sni")) {
      args.sni = ctx.vm["sni"].as<std::string>();
      if (args.sni.empty())
        return ctx.fail(Error{errc::kBadArgs, "--sni needs a name", "use --no-sni to send none"});
    }
    args.no_sni = ctx.vm["no-sni"].as<bool>();
    if (ctx.vm.count("alpn")) {
      std::string list = ctx.vm["alpn"].as<std::string>();
      args.alpn.clear();
      if (list != "none" && !list.empty()) {
        std::stringstream ss(list);
        std::string item;
        while (std::getline(ss, item, ',')) args.alpn.push_back(item);
      }
    }
    if (ctx.vm.count("ca-file")) {
      auto pem = read_ca_file(ctx.vm["ca-file"].as<std::string>());
      if (!pem) return ctx.fail(pem.error());
      args.ca_pem = *pem;
    }
    for (const char* opt : {"tls-min", "tls-max"}) {
      if (!ctx.vm.count(opt)) continue;
      std::string v = ctx.vm[opt].as<std::string>();
      if (v.rfind("TLSv", 0) == 0 || v.rfind("tlsv", 0) == 0) v = v.substr(4);
      (std::string(opt) == "tls-min" ? args.min_version : args.max_version) = v;
    }
    if (auto e = duration_option(ctx.vm, "timeout", &args.timeout_ms)) return ctx.fail(*e);
    if (auto e = duration_option(ctx.vm, "banner-wait", &args.banner_wait_ms)) return ctx.fail(*e);
    if (auto st = net::validate(args); !st) return ctx.fail(st.error());

    std::vector<net::Side<net::TlsResult>> results;
    bool failed = false;
    // A side may take a connect timeout and a handshake timeout: say which.
    WaitLine wait_line(ctx.err);
    for (auto& side : check_sides(ctx)) {
      wait_line.waiting_for(
          fmt::format("sonde: tls: {}: reaching the agent", render::terminal_safe(side.label)));
      auto s = side.ctx.connect();
      if (s)
        wait_line.waiting_for(fmt::format("sonde: tls: {}: connecting to {}:{} and handshaking",
                                          render::terminal_safe(side.label),
                                          render::terminal_safe(ep->host), ep->port));
      Result<net::TlsResult> checked =
          s ? call_checked(**s, "net.tls", net::to_json(args), net::tls_result_from_json)
            : Result<net::TlsResult>(s.error());
      wait_line.waiting_for("");
      if (!checked) {
        const Error& e = checked.error();
        // A cancel stops everything; bad arguments would be bad on every side.
        if (e.code == errc::kCancelled || e.code == errc::kBadArgs) return ctx.fail(e);
        failed = true;
        print_side_error(ctx, side.label, e);
        continue;
      }
      if (!checked->ok) failed = true;
      results.push_back({side.label, std::move(*checked)});
    }
    auto diffs = net::tls_differences(results);
    if (ctx.g.json) {
      json sides = json::array();
      for (const auto& s : results)
        sides.push_back({{"side", s.label}, {"result", to_json(s.result)}});
      ctx.print_json({{"host", ep->host},
                      {"port", ep->port},
                      {"ok", !failed},
                      {"sides", sides},
                      {"differences", diffs}});
    } else {
      // A fleet of --from hosts: one line each, the odd ones first.
      std::string text =
          results.size() > render::kSideBlocksUpTo
              ? render::render_tls_matrix(results) + render::render_list("differences", diffs)
              : render::render_sides(results, render::render_tls_side, diffs);
      std::fputs(text.c_str(), ctx.out);
    }
    return failed ? exit_code::kFailed : exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
