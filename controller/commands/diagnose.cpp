// sonde diagnose [--from TARGET]... HOST:PORT [--tls] [--http PATH]: the
// ladder dns → route → connect → tls → http on this machine and on each
// --from target, each side stopping at its first failing rung, then one
// verdict across the sides with the evidence and what to look at next.
// Every rung is the op of the single check (net.dns, net.connect, net.tls,
// net.http), so diagnose says nothing those commands would not.
#include "sonde/net/diagnose.h"

#include "../cli/command.h"
#include "../cli/sides.h"
#include "../cli/status_line.h"
#include "sonde/common/io.h"
#include "sonde/net/address.h"
#include "sonde/net/connect.h"
#include "sonde/net/connect_contract.h"
#include "sonde/net/dns_contract.h"
#include "sonde/net/http_contract.h"
#include "sonde/net/tls_contract.h"
#include "sonde/render/diagnose.h"
#include "sonde/render/sides.h"
#include "sonde/render/table.h"

namespace sonde::controller {
namespace {

struct DiagnosePlan {
  std::string target;  // HOST:PORT as typed
  std::string host;
  int port = 0;
  long timeout_ms = 3000;
  std::string ca_pem;  // --ca-file's certificates (empty: each side's system store)
  int count = 1;
  bool tls = false;
  std::string sni;
  std::string http_path;  // empty: no HTTP rung
  std::string host_header;
};

// The GET of the last rung.
net::HttpRequest http_request(const DiagnosePlan& p) {
  net::HttpRequest hr;
  hr.host = p.host;
  hr.port = p.port;
  hr.path = p.http_path;
  hr.tls = p.tls;
  hr.timeout_ms = p.timeout_ms;
  hr.sni = p.sni;
  hr.host_header = p.host_header;
  return hr;
}

bool failed(const net::Layer& l) {
  return l.status == "fail";
}

// One side's ladder. Stops at the first failing rung; the rest are shown as
// not run, with the reason. Each rung may take its timeout (connect: one per
// attempt): wait_line says which one runs.
std::vector<net::Layer> run_side(Session& s, const DiagnosePlan& p, const std::string& label,
                                 WaitLine& wait_line) {
  std::vector<net::Layer> layers;
  auto rung = [&](const std::string& what) {
    wait_line.waiting_for(
        fmt::format("sonde: diagnose: {}: {}", render::terminal_safe(label), what));
  };
  auto skip_rest = [&](const std::vector<const char*>& rest, const std::string& why) {
    for (const char* l : rest) layers.push_back(net::skipped_layer(l, why));
  };
  std::vector<const char*> after_dns = {"route", "connect"};
  if (p.tls) after_dns.push_back("tls");
  if (!p.http_path.empty()) after_dns.push_back("http");

  if (net::is_ip_address(p.host)) {
    layers.push_back(net::skipped_layer("dns", p.host + " is an address"));
  } else {
    net::DnsArgs dargs;
    dargs.name = p.host;
    dargs.type = "A";
    dargs.timeout_ms = p.timeout_ms;
    rung("dns: resolving " + render::terminal_safe(p.host));
    auto r = call_checked(s, "net.dns", net::to_json(dargs), net::dns_result_from_json);
    net::Layer l = r ? net::dns_layer(p.host, *r) : net::error_layer("dns", r.error().describe());
    layers.push_back(l);
    if (failed(l)) {
      skip_rest(after_dns, "not run: dns failed");
      return layers;
    }
  }

  net::ConnectOptions co;
  co.host = p.host;
  co.port = p.port;
  co.count = p.count;
  co.interval_ms = 200;
  co.timeout_ms = p.timeout_ms;
  rung(fmt::format("connect: {} attempt{}", p.count, p.count == 1 ? "" : "s"));
  auto c =
      call_checked(s, "net.connect", net::connect_args_json(co), net::connect_result_from_json);
  std::vector<net::Layer> cl;
  if (c)
    cl = net::connect_layers(*c);
  else
    cl = {net::error_layer("connect", c.error().describe())};
  bool stop = false;
  for (auto& l : cl) {
    layers.push_back(l);
    if (failed(l)) {
      stop = true;
      break;
    }
  }
  if (stop) {
    std::vector<const char*> rest;
    bool have_connect = false;
    for (const auto& l : layers) have_connect |= l.layer == "connect";
    if (!have_connect) rest.push_back("connect");
    if (p.tls) rest.push_back("tls");
    if (!p.http_path.empty()) rest.push_back("http");
    skip_rest(rest, "not run: " + layers.back().layer + " failed");
    return layers;
  }

  if (p.tls) {
    net::TlsArgs targs;
    targs.host = p.host;
    targs.port = p.port;
    targs.timeout_ms = p.timeout_ms;
    targs.sni = p.sni;
    targs.ca_pem = p.ca_pem;
    rung("tls: handshaking");
    auto t = call_checked(s, "net.tls", net::to_json(targs), net::tls_result_from_json);
    net::Layer l = t ? net::tls_layer(*t) : net::error_layer("tls", t.error().describe());
    layers.push_back(l);
    // A certificate that does not verify is the finding; the HTTP rung would
    // only repeat it, so it is not run (a client that verifies stops here too).
    if (failed(l)) {
      if (!p.http_path.empty()) skip_rest({"http"}, "not run: tls failed");
      return layers;
    }
  }

  if (!p.http_path.empty()) {
    rung("http: GET " + render::terminal_safe(p.http_path));
    auto h = call_checked(s, "net.http", net::http_args_json(http_request(p)),
                          net::http_result_from_json);
    layers.push_back(h ? net::http_layer(*h) : net::error_layer("http", h.error().describe()));
  }
  return layers;
}

}  // namespace

CommandSpec diagnose_command() {
  CommandSpec c;
  c.name = "diagnose";
  c.summary =
      "dns → route → connect → tls → http from here and from --from targets, with a verdict";
  c.synopsis =
      "diagnose HOST:PORT [--from TARGET]... [--tls [--sni NAME] [--ca-file FILE]] [--http PATH] "
      "[--timeout 3s]";
  c.needs_target = false;
  c.options = [](po::options_description& o) {
    o.add_options()("from", po::value<std::vector<std::string>>()->composing(),
                    "also run the ladder from this target (repeatable)")(
        "tls", po::bool_switch(), "check TLS on the port (handshake, chain, hostname)")(
        "sni", po::value<std::string>(), "TLS server name (default: HOST when it is a name)")(
        "ca-file", po::value<std::string>(),
        "with --tls: verify against the CA certificate(s) in this PEM file (read here, sent to "
        "each side) instead of each side's system store")(
        "http", po::value<std::string>(), "finish with GET PATH (over TLS with --tls)")(
        "host-header", po::value<std::string>(), "Host header for --http (default HOST[:PORT])")(
        "timeout", po::value<std::string>()->default_value("3s"),
        "each rung's timeout (e.g. 3s, 500ms)")("count", po::value<int>()->default_value(2),
                                                "connect attempts per side");
  };
  c.run = [](CommandContext& ctx) -> int {
    DiagnosePlan p;
    p.target = ctx.target;
    if (p.target.empty())
      return ctx.fail(
          Error{errc::kBadArgs, "missing HOST:PORT", "sonde diagnose db.example:5432 --from web1"});
    auto hp = net::parse_host_port(p.target);
    if (!hp) return ctx.fail(hp.error());
    p.host = hp->first;
    p.port = hp->second;
    if (auto e = duration_option(ctx.vm, "timeout", &p.timeout_ms)) return ctx.fail(*e);
    if (p.timeout_ms < 1 || p.timeout_ms > net::kMaxTimeoutMs)
      return ctx.fail(
          Error{errc::kBadArgs, "--timeout must be between 1ms and 60s", "e.g. --timeout 3s"});
    p.count = ctx.vm["count"].as<int>();
    if (p.count < 1 || p.count > 10)
      return ctx.fail(Error{errc::kBadArgs, "--count must be 1..10", {}});
    p.tls = ctx.vm["tls"].as<bool>();
    if (ctx.vm.count("sni")) {
      if (!p.tls) return ctx.fail(Error{errc::kBadArgs, "--sni needs --tls", {}});
      p.sni = ctx.vm["sni"].as<std::string>();
    }
    if (ctx.vm.count("ca-file")) {
      if (!p.tls)
        return ctx.fail(Error{errc::kBadArgs, "--ca-file needs --tls",
                              "sonde diagnose HOST:PORT --tls --ca-file ca.pem"});
      auto pem = read_ca_file(ctx.vm["ca-file"].as<std::string>());
      if (!pem) return ctx.fail(pem.error());
      p.ca_pem = std::move(*pem);
    }
    if (ctx.vm.count("host-header")) {
      if (!ctx.vm.count("http"))
        return ctx.fail(Error{errc::kBadArgs, "--host-header needs --http", {}});
      p.host_header = ctx.vm["host-header"].as<std::string>();
    }
    if (ctx.vm.count("http")) {
      p.http_path = ctx.vm["http"].as<std::string>();
      if (auto st = net::validate(http_request(p)); !st) return ctx.fail(st.error());
    }

    std::vector<net::DiagnoseSide> sides;
    bool side_failed = false;
    auto all_sides = check_sides(ctx);
    // A fleet of --from hosts: one matrix line each at the end rather than a
    // block per side as it finishes.
    const bool matrix = all_sides.size() > render::kSideBlocksUpTo;
    WaitLine wait_line(ctx.err);
    for (auto& side : all_sides) {
      wait_line.waiting_for(fmt::format("sonde: diagnose: {}: reaching the agent",
                                        render::terminal_safe(side.label)));
      auto s = side.ctx.connect();
      if (!s) {
        wait_line.waiting_for("");
        side_failed = true;
        print_side_error(ctx, side.label, s.error());
        continue;
      }
      auto layers = run_side(**s, p, side.label, wait_line);
      wait_line.waiting_for("");
      sides.push_back({side.label, (*s)->host(), std::move(layers)});
      if (!ctx.g.json && !matrix) {
        std::fputs(render::render_diagnose_side(sides.back()).c_str(), ctx.out);
        std::fflush(ctx.out);
      }
    }
    if (sides.empty()) return exit_code::kFailed;
    net::Verdict v = net::diagnose_verdict(p.target, sides);
    if (ctx.g.json) {
      json sj = json::array();
      for (const auto& sd : sides) sj.push_back(net::to_json(sd));
      ctx.print_json(
          {{"target", p.target}, {"sides", sj}, {"verdict", net::to_json(v)}, {"summary", v.text}});
    } else {
      if (matrix) std::fputs(render::render_diagnose_matrix(sides).c_str(), ctx.out);
      std::fputs(render::render_verdict(v).c_str(), ctx.out);
    }
    return v.ok && !side_failed ? exit_code::kOk : exit_code::kFailed;
  };
  return c;
}

}  // namespace sonde::controller
