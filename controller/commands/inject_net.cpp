// sonde inject TARGET --delay 100ms --peer 10.0.0.5 ...: network faults on
// the target for --duration (30s by default), removed at the end, on Ctrl-C,
// by the agent's watchdog if the agent or the link dies, and by the next
// agent if both die. --plan shows the tc and nft commands and changes
// nothing; --list shows what is in place on the host, --clear removes it.
//
// --json: the agent's result (net/netfault.h) with "host":
//   inject_net   {id, what, scope, netns, devices [{dev, qdisc}], table,
//                 ssh_excluded, started_ns, ends_ns, ended_ns, planned_only,
//                 plan [..], applied, undone, stopped, undo, notes}
//   --list       {injections [{id, kind, what, scope, netns, devices, table,
//                 started_ns, ends_ns, owner_pid, owner_alive, record}], notes}
//                (kind "net", or "syscall" for a running syscall injection)
//   --clear      {removed [the same, with undo], notes}
#include "inject_net.h"

#include <boost/any.hpp>
#include <cstdio>
#include <cstdlib>

#include "../cli/pick.h"
#include "sonde/common/clock.h"
#include "sonde/common/io.h"
#include "sonde/net/netfault.h"
#include "sonde/render/table.h"
#include "sonde/render/trace.h"

namespace sonde::controller {
namespace {

// The value flags that are network faults or their scope only.
constexpr const char* kNetValueFlags[] = {"delay",     "jitter",  "loss",  "rate",
                                          "duplicate", "reorder", "netns", "dev"};
constexpr const char* kNetSwitches[] = {"reset", "blackhole", "list", "clear"};

Error net_usage(std::string msg, std::string hint = "sonde help inject") {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

// A flag's value whatever type the command declared it with; switches are
// given only when true.
bool given(const po::variables_map& vm, const char* name) {
  auto it = vm.find(name);
  if (it == vm.end() || it->second.empty() || it->second.defaulted()) return false;
  if (const bool* b = boost::any_cast<bool>(&it->second.value())) return *b;
  return true;
}

std::string text_of(const po::variables_map& vm, const char* name) {
  auto it = vm.find(name);
  if (it == vm.end() || it->second.empty()) return {};
  const boost::any& v = it->second.value();
  if (const auto* s = boost::any_cast<std::string>(&v)) return *s;
  if (const auto* i = boost::any_cast<int>(&v)) return std::to_string(*i);
  if (const auto* l = boost::any_cast<long>(&v)) return std::to_string(*l);
  return {};
}

// "100ms", "1.5s": a duration with its unit (a bare number would be seconds,
// which no one means for a delay).
Result<long> delay_flag(const po::variables_map& vm, const char* name) {
  std::string t = text_of(vm, name);
  if (t.empty()) return 0L;
  auto ms = parse_duration_ms(t);
  if (!ms || t.find_first_not_of("0123456789.") == std::string::npos || *ms < 0)
    return net_usage(fmt::format("--{} `{}` is not a duration with a unit", name, t),
                     fmt::format("e.g. --{} 100ms, --{} 1.5s", name, name));
  return *ms;
}

// "5%", "5", "0.5%".
Result<double> percent_flag(const po::variables_map& vm, const char* name) {
  std::string t = text_of(vm, name);
  if (t.empty()) return 0.0;
  std::string n = !t.empty() && t.back() == '%' ? t.substr(0, t.size() - 1) : t;
  char* end = nullptr;
  double v = n.empty() ? -1 : std::strtod(n.c_str(), &end);
  if (n.empty() || *end != '\0' || n.find_first_not_of("0123456789.") != std::string::npos)
    return net_usage(fmt::format("--{} `{}` is not a percentage", name, t),
                     fmt::format("e.g. --{} 5% or --{} 0.5", name, name));
  return v;
}

// -p as inject.cpp declares it (strace's forms), one process here.
Result<long> pid_flag(const po::variables_map& vm) {
  auto it = vm.find("pid");
  if (it == vm.end() || it->second.empty()) return 0L;
  if (const auto* v = boost::any_cast<std::vector<std::string>>(&it->second.value())) {
    auto pids = parse_pid_list(*v);
    if (!pids) return pids.error();
    if (pids->size() != 1)
      return net_usage(
          "network faults take one -p: the process whose network namespace they "
          "go in",
          "e.g. -p 1234 (a container's main process)");
    return static_cast<long>(pids->front());
  }
  std::string t = text_of(vm, "pid");
  return t.empty() ? 0L : std::strtol(t.c_str(), nullptr, 10);
}

Result<net::NetFaultArgs> args_from_flags(const po::variables_map& vm) {
  net::NetFaultArgs a;
  auto delay = delay_flag(vm, "delay");
  if (!delay) return delay.error();
  auto jitter = delay_flag(vm, "jitter");
  if (!jitter) return jitter.error();
  a.delay_ms = *delay;
  a.jitter_ms = *jitter;
  for (auto [name, out] : {std::pair{"loss", &a.loss_pct}, std::pair{"duplicate", &a.duplicate_pct},
                           std::pair{"reorder", &a.reorder_pct}}) {
    auto v = percent_flag(vm, name);
    if (!v) return v.error();
    *out = *v;
  }
  a.rate = text_of(vm, "rate");
  a.reset = given(vm, "reset");
  a.blackhole = given(vm, "blackhole");
  auto pid = pid_flag(vm);
  if (!pid) return pid.error();
  a.pid = *pid;
  a.netns = text_of(vm, "netns");
  a.peer = text_of(vm, "peer");
  std::string port = text_of(vm, "port");
  a.port = port.empty() ? 0 : std::strtol(port.c_str(), nullptr, 10);
  if (!port.empty() && a.port == 0) return net_usage("--port 0 is not a port", "give 1..65535");
  a.dev = text_of(vm, "dev");
  if (given(vm, "duration")) {
    std::string d = text_of(vm, "duration");
    auto ms = parse_duration_ms(d);
    if (!ms || *ms <= 0)
      return net_usage(fmt::format("--duration `{}` is not a duration", d), "e.g. 30s, 5m");
    a.duration_ms = *ms;
  }
  a.force = given(vm, "force");
  a.plan = given(vm, "plan");
  if (auto st = net::validate(a); !st) return st.error();
  return a;
}

// Text the agent sent, for the terminal.
std::string safe(const std::string& s) {
  return render::terminal_safe(s);
}

std::string clock_of(int64_t ns) {
  return render::format_trace_time(ns, 1);
}

std::string devices_text(const net::NetFaultResult& r) {
  std::string s;
  for (const auto& d : r.devices)
    s += (s.empty() ? "" : "; ") + d.dev + (d.qdisc.empty() ? "" : ": " + d.qdisc);
  return s;
}

std::string stopped_text(const std::string& stopped) {
  if (stopped == "cancelled") return "Ctrl-C";
  if (stopped == "cleared") return "by sonde inject --clear";
  return "--duration over";
}

void print_notes(FILE* to, const std::vector<std::string>& notes) {
  for (const auto& n : notes) std::fprintf(to, "note: %s\n", safe(n).c_str());
}

int run_plan(CommandContext& ctx, Session& s, const net::NetFaultArgs& a) {
  auto r = call_checked(s, "inject_net", net::to_json(a), net::netfault_result_from_json);
  if (!r) return ctx.fail(r.error());
  if (ctx.g.json) {
    ctx.print_result_json(net::to_json(*r), s);
    return exit_code::kOk;
  }
  std::fprintf(ctx.out, "sonde inject --plan on %s: %s, %s, for %.0fs (nothing changed)\n",
               safe(s.host()).c_str(), safe(r->what).c_str(), safe(r->scope).c_str(),
               a.duration_ms / 1000.0);
  for (const auto& line : r->plan) std::fprintf(ctx.out, "  %s\n", safe(line).c_str());
  print_notes(ctx.out, r->notes);
  return exit_code::kOk;
}

int run_fault(CommandContext& ctx, Session& s, const net::NetFaultArgs& a) {
  auto id = s.send_request("inject_net", net::to_json(a));
  if (!id) return ctx.fail(id.error());
  // With --json the document is stdout's alone: people read progress on stderr.
  FILE* human = ctx.g.json ? ctx.err : ctx.out;
  auto on_event = [&](const json& j) -> Status {
    auto ev = net::netfault_event_from_json(j);
    if (!ev) return ev.error();
    std::fprintf(human,
                 "sonde: %s: %s, %s, applied (%s; nft table %s) until %s; Ctrl-C removes "
                 "it now\n",
                 safe(s.host()).c_str(), safe(ev->what).c_str(), safe(ev->scope).c_str(),
                 safe(devices_text(*ev)).c_str(), safe(ev->table).c_str(),
                 clock_of(ev->ends_ns).c_str());
    if (!ev->ssh_excluded.empty())
      std::fprintf(human, "sonde: the SSH connection the agent runs over (%s) is left alone\n",
                   safe(ev->ssh_excluded).c_str());
    std::fflush(human);
    return ok_status();
  };
  // The agent undoes on a cancel before it answers: a few tc/nft commands.
  auto reply = s.wait(*id, on_event, -1, 10000);
  auto r = read_reply(reply, net::netfault_result_from_json);
  if (!r) return ctx.fail(r.error());
  if (ctx.g.json) {
    ctx.print_result_json(net::to_json(*r), s);
  } else {
    double secs = r->ended_ns > r->started_ns ? (r->ended_ns - r->started_ns) / 1e9 : 0;
    std::fprintf(ctx.out, "sonde: %s %s after %.1fs (%s): %s\n", safe(r->what).c_str(),
                 r->undone ? "removed" : "NOT fully removed", secs,
                 stopped_text(r->stopped).c_str(), safe(r->undo).c_str());
    print_notes(ctx.out, r->notes);
  }
  if (!r->undone)
    return ctx.fail(Error{errc::kIo, "the fault was not fully removed: " + r->undo,
                          "the agent's watchdog and the next agent retry it; sonde inject "
                          "TARGET --list shows what is left, --clear removes it"});
  if (r->stopped == "cancelled" && interrupted_by_signal()) return exit_code::kInterrupted;
  return exit_code::kOk;
}

std::string owner_text(const net::InjectionInfo& i) {
  return fmt::format("agent {}{}", i.owner_pid, i.owner_alive ? "" : " (gone)");
}

int run_list_or_clear(CommandContext& ctx, bool clear) {
  const auto& vm = ctx.vm;
  for (const char* f : kNetValueFlags)
    if (given(vm, f) && std::string(f) != "netns")
      return ctx.fail(
          net_usage(fmt::format("--{} takes no fault: --{} is given", clear ? "clear" : "list", f),
                    "sonde inject TARGET --list, or --clear [-p PID | --netns NAME]"));
  if (given(vm, "reset") || given(vm, "blackhole") || given(vm, "peer") || given(vm, "port"))
    return ctx.fail(net_usage(fmt::format("--{} takes no fault or peer", clear ? "clear" : "list"),
                              "sonde inject TARGET --list, or --clear [-p PID | --netns NAME]"));
  net::InjectScopeArgs scope;
  auto pid = pid_flag(vm);
  if (!pid) return ctx.fail(pid.error());
  scope.pid = *pid;
  scope.netns = text_of(vm, "netns");
  if (auto st = net::validate(scope); !st) return ctx.fail(st.error());
  auto s = ctx.connect();
  if (!s) return ctx.fail(s.error());
  const char* op = clear ? "inject_clear" : "inject_list";
  auto reply = (*s)->call(op, net::to_json(scope));
  if (clear) {
    auto r = read_reply(reply, net::inject_clear_result_from_json);
    if (!r) return ctx.fail(r.error());
    if (ctx.g.json) {
      ctx.print_result_json(net::to_json(*r), **s);
      return exit_code::kOk;
    }
    if (r->removed.empty())
      std::fprintf(ctx.out, "no injection to remove on %s\n", safe((*s)->host()).c_str());
    for (const auto& i : r->removed)
      std::fprintf(ctx.out, "removed %s (%s, %s): %s\n", safe(i.id).c_str(), safe(i.what).c_str(),
                   safe(i.scope).c_str(), safe(i.undo).c_str());
    print_notes(ctx.out, r->notes);
    return exit_code::kOk;
  }
  auto r = read_reply(reply, net::inject_list_result_from_json);
  if (!r) return ctx.fail(r.error());
  if (ctx.g.json) {
    ctx.print_result_json(net::to_json(*r), **s);
    return exit_code::kOk;
  }
  if (r->injections.empty()) {
    std::fprintf(ctx.out, "no injection in place on %s\n",
                 render::terminal_safe((*s)->host()).c_str());
  } else {
    render::Table t(
        {{"ID"}, {"KIND"}, {"FAULT"}, {"SCOPE"}, {"STARTED"}, {"ENDS"}, {"OWNER"}, {"NETNS"}});
    // A syscall injection into a command sonde launched ends with it.
    for (const auto& i : r->injections)
      t.add_row({i.id, i.kind, i.what, i.scope, clock_of(i.started_ns),
                 i.ends_ns > 0 ? clock_of(i.ends_ns) : "with it", owner_text(i), i.netns});
    std::fputs(t.render(ctx.terminal_width()).c_str(), ctx.out);
  }
  print_notes(ctx.out, r->notes);
  return exit_code::kOk;
}

}  // namespace

void add_net_inject_options(po::options_description& o) {
  o.add_options()("delay", po::value<std::string>(),
                  "network: delay what the host sends (e.g. 100ms; tc netem)")(
      "jitter", po::value<std::string>(), "network: ± this around --delay (e.g. 10ms)")(
      "loss", po::value<std::string>(), "network: drop this share of packets (e.g. 5%)")(
      "rate", po::value<std::string>(), "network: at most this rate (e.g. 1mbit, 500kbit, 2mbps)")(
      "duplicate", po::value<std::string>(), "network: send this share twice (e.g. 1%)")(
      "reorder", po::value<std::string>(),
      "network: send this share at once, ahead of the delayed rest (needs --delay; e.g. 25%)")(
      "reset", po::bool_switch(),
      "network: refuse: TCP answered with a reset, UDP with port-unreachable (nftables)")(
      "blackhole", po::bool_switch(), "network: drop without an answer (nftables)")(
      "peer", po::value<std::string>(),
      "only traffic with this address or CIDR (network faults); ADDR[:PORT] of the far end "
      "(syscall faults)")("port", po::value<int>(),
                          "only this TCP/UDP port, at either end (network faults: the host as "
                          "client or server)")(
      "netns", po::value<std::string>(),
      "network: in this `ip netns` namespace (default: the agent's, or -p PID's)")(
      "dev", po::value<std::string>(),
      "network: on this device (default: the route's to --peer, else every up device but lo)")(
      "list", po::bool_switch(),
      "show the injections in place on the host: network faults and running syscall "
      "injections (with -p/--netns: the network faults in that namespace)")(
      "clear", po::bool_switch(), "remove what --list shows (the same scope)");
}

bool wants_net_inject(const po::variables_map& vm) {
  for (const char* f : kNetValueFlags)
    if (given(vm, f)) return true;
  for (const char* f : kNetSwitches)
    if (given(vm, f)) return true;
  return false;
}

int run_net_inject(CommandContext& ctx) {
  const bool list = given(ctx.vm, "list"), clear = given(ctx.vm, "clear");
  if (list && clear) return ctx.fail(net_usage("--list and --clear: give one"));
  if (list || clear) return run_list_or_clear(ctx, clear);
  auto a = args_from_flags(ctx.vm);
  if (!a) return ctx.fail(a.error());
  auto s = ctx.connect();
  if (!s) return ctx.fail(s.error());
  return a->plan ? run_plan(ctx, **s, *a) : run_fault(ctx, **s, *a);
}

}  // namespace sonde::controller
