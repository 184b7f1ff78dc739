// sonde connect HOST:PORT [--from TARGET]...: TCP connection attempts from
// this machine (a local agent), the --via agent and each --from target, at the
// same time; each attempt classified (open, refused, dropped, ICMP unreachable
// with type/code and sender, no route, name not resolved) with the source
// address and route the kernel chose, side by side with a comparison.
//
// --json prints {"target": "HOST:PORT", "host", "port", "connected": bool,
// "sides": [{"side": label, "result": <net.connect result>} or {"side": label,
// "error": {"code", "message", "hint"}}], "comparison": [sentences]}. The
// net.connect result is documented in net/include/sonde/net/connect_contract.h.
#include <algorithm>
#include <thread>

#include "../cli/command.h"
#include "../cli/sides.h"
#include "../cli/status_line.h"
#include "sonde/common/io.h"
#include "sonde/net/connect.h"
#include "sonde/net/connect_contract.h"
#include "sonde/render/connect.h"
#include "sonde/render/table.h"

namespace sonde::controller {
namespace {

// One side while its check runs.
struct SideRun {
  std::string label;
  CommandContext ctx;
  std::unique_ptr<Session> session;
  uint64_t id = 0;
  bool done = false;
  std::optional<json> result;
  std::optional<Error> error;
  int attempts_seen = 0;  // from the agent's attempt events, for the progress line
  std::string last_verdict;
};

// The agent's event for each attempt row: {"attempt": {attempt, verdict, ...}}.
// Only the progress line reads it; one that does not read is skipped.
void count_attempt(SideRun& s, const json& e) {
  if (!e.is_object()) return;
  auto a = e.find("attempt");
  if (a == e.end() || !a->is_object()) return;
  auto n = a->find("attempt");
  if (n != a->end() && n->is_number_integer())
    s.attempts_seen = std::max(s.attempts_seen, n->get<int>());
  auto v = a->find("verdict");
  if (v != a->end() && v->is_string()) s.last_verdict = v->get<std::string>();
}

// "sonde: connect web1:443: local 2/3 attempts, last open; web1 1/3
// attempts, last timeout".
std::string progress_text(const std::string& target, const std::vector<SideRun>& sides, int count) {
  std::string out = "sonde: connect " + render::terminal_safe(target) + ":";
  const char* sep = " ";
  for (const auto& s : sides) {
    out += sep + render::terminal_safe(s.label) + " ";
    sep = "; ";
    if (s.done && s.error) {
      out += "failed";
      continue;
    }
    out += fmt::format("{}/{} attempts", s.attempts_seen, count);
    if (!s.last_verdict.empty()) out += ", last " + render::terminal_safe(s.last_verdict);
  }
  return out;
}

}  // namespace

CommandSpec connect_command() {
  CommandSpec c;
  c.name = "connect";
  c.summary =
      "TCP connect to HOST:PORT from here and --from targets: open, refused, dropped or which "
      "ICMP unreachable from whom, with source and route; exit 0 only if every side connected";
  c.synopsis =
      "connect HOST:PORT [--from TARGET]... [--count N] [--interval 1s] [--timeout 3s] "
      "[--hold 10s] [-4|-6] [--all-addresses]";
  c.needs_target = false;
  c.options = [](po::options_description& o) {
    o.add_options()("from", po::value<std::vector<std::string>>()->composing(),
                    "also connect from this target (repeatable); this machine is always a side")(
        "count,c", po::value<int>(),
        "attempts per side (default 3, or 1 with --hold; at most 100)")(
        "interval", po::value<std::string>()->default_value("1s"),
        "pause between attempts (e.g. 1s, 200ms, 0)")(
        "timeout,w", po::value<std::string>()->default_value("3s"),
        "how long one attempt waits for an answer before calling it dropped (1ms..60s)")(
        "hold", po::value<std::string>(),
        "keep each open connection this long and report whether and when the peer closed or "
        "reset it (up to 1h)")("ipv4,4", "IPv4 addresses only")("ipv6,6", "IPv6 addresses only")(
        "all-addresses",
        "try every address the name resolves to in each attempt (default: in order until one "
        "opens, like nc and curl)");
  };
  c.run = [](CommandContext& ctx) -> int {
    const char* usage = "sonde connect HOST:PORT [--from TARGET]... (e.g. web1:443)";
    if (ctx.target.empty()) return ctx.fail(Error{errc::kBadArgs, "missing HOST:PORT", usage});
    auto hp = net::parse_host_port(ctx.target);
    if (!hp) return ctx.fail(hp.error());
    net::ConnectOptions o;
    o.host = hp->first;
    o.port = hp->second;
    if (auto e = duration_option(ctx.vm, "timeout", &o.timeout_ms)) return ctx.fail(*e);
    if (auto e = duration_option(ctx.vm, "interval", &o.interval_ms)) return ctx.fail(*e);
    if (auto e = duration_option(ctx.vm, "hold", &o.hold_ms)) return ctx.fail(*e);
    if (ctx.vm.count("hold") && o.hold_ms <= 0)
      return ctx.fail(Error{errc::kBadArgs, "--hold must be more than 0", "e.g. --hold 10s"});
    o.count = ctx.vm.count("count") ? ctx.vm["count"].as<int>() : (o.hold_ms > 0 ? 1 : 3);
    if (ctx.vm.count("ipv4") && ctx.vm.count("ipv6"))
      return ctx.fail(Error{errc::kBadArgs, "-4 and -6 exclude each other", "give one of them"});
    o.family = ctx.vm.count("ipv4") ? AF_INET : ctx.vm.count("ipv6") ? AF_INET6 : AF_UNSPEC;
    o.all_addresses = ctx.vm.count("all-addresses") > 0;
    if (auto st = net::validate(o); !st.ok()) return ctx.fail(st.error());
    json args = net::connect_args_json(o);

    // Sides as in `sonde dns`: this machine (a local agent), the --via
    // agent, each --from target.
    std::vector<SideRun> sides;
    for (auto& sd : check_sides(ctx)) {
      SideRun r;
      r.label = sd.label;
      r.ctx = sd.ctx;
      sides.push_back(std::move(r));
    }

    // Attempts time out, pause and hold for seconds on every side: the line
    // says how far each side is.
    WaitLine wait_line(ctx.err);
    // Connect every side first, then start the attempts on all of them at
    // once: both ends probe at the same moment, and --hold does not add up.
    for (auto& s : sides) {
      if (interrupted()) break;
      wait_line.waiting_for(fmt::format("sonde: connect {}: {}: reaching the agent",
                                        render::terminal_safe(ctx.target),
                                        render::terminal_safe(s.label)));
      auto sess = s.ctx.connect();
      if (!sess) {
        s.error = sess.error();
        s.done = true;
        continue;
      }
      s.session = std::move(*sess);
    }
    for (auto& s : sides) {
      if (s.done || !s.session) {
        if (!s.done) {
          s.error = Error{errc::kCancelled, "interrupted before the side was reached", {}};
          s.done = true;
        }
        continue;
      }
      auto id = s.session->send_request("net.connect", args);
      if (!id) {
        s.error = id.error();
        s.done = true;
        continue;
      }
      s.id = *id;
    }
    // Drain every side's messages as they come so no agent blocks on a full
    // pipe; after Ctrl-C, wait() sends each side its cancel and collects the
    // partial result.
    std::string shown = progress_text(ctx.target, sides, o.count);
    wait_line.waiting_for(shown);
    for (;;) {
      bool pending = false;
      for (auto& s : sides) {
        if (s.done) continue;
        Result<std::optional<json>> r = std::optional<json>{};
        auto on_event = [&s](const json& e) { count_attempt(s, e); };
        if (interrupted()) {
          auto w = s.session->wait(s.id, on_event);
          r = w ? Result<std::optional<json>>(std::optional<json>(std::move(*w)))
                : Result<std::optional<json>>(w.error());
        } else {
          r = s.session->poll(s.id, on_event);
        }
        if (!r) {
          s.error = r.error();
          s.done = true;
        } else if (r->has_value()) {
          s.result = std::move(**r);
          s.done = true;
        } else {
          pending = true;
        }
      }
      if (!pending) break;
      if (std::string now = progress_text(ctx.target, sides, o.count); now != shown) {
        shown = now;
        wait_line.update(now);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    wait_line.waiting_for("");

    std::vector<net::Side<net::ConnectResult>> results;
    json all_sides = json::array();
    bool failed = false, connected = true;
    std::optional<Error> first_error;
    for (auto& s : sides) {
      if (!s.error) {
        auto checked = net::connect_result_from_json(*s.result);
        if (checked) {
          json side = {{"side", s.label}, {"result", net::to_json(*checked)}};
          if (net::overall_verdict(*checked) != net::verdict::kOpen) connected = false;
          results.push_back({s.label, std::move(*checked)});
          all_sides.push_back(std::move(side));
          continue;
        }
        s.error = checked.error();
      }
      failed = true;
      Error e = print_side_error(ctx, s.label, *s.error);
      if (!first_error) first_error = e;
      json ej = {{"code", e.code}, {"message", e.message}, {"hint", e.hint}};
      all_sides.push_back({{"side", s.label}, {"error", ej}});
    }
    auto comparison = net::connect_comparison(results);
    if (ctx.g.json) {
      ctx.print_json({{"target", ctx.target},
                      {"host", o.host},
                      {"port", o.port},
                      {"connected", connected && !failed},
                      {"sides", all_sides},
                      {"comparison", comparison}});
    } else {
      std::fputs(render::render_connect(results, comparison).c_str(), ctx.out);
    }
    if (interrupted()) return exit_code::kInterrupted;
    if (results.empty() && first_error) return exit_code_for(*first_error);
    return connected && !failed ? exit_code::kOk : exit_code::kFailed;
  };
  return c;
}

}  // namespace sonde::controller
