// What a `sonde connect` result means: the side's verdict from its rows, the
// one-line summary, a failing row explained, and the comparison across
// sides. Pure functions of ConnectResult, the same on both ends.
#include <algorithm>
#include <map>

#include "ms_text.h"
#include "sonde/net/address.h"
#include "sonde/net/connect.h"

namespace sonde::net {
namespace {

std::string route_text(const RouteInfo& r) {
  if (!r.error.empty()) return "route lookup: " + r.error;
  std::string s = "via " + (r.dev.empty() ? std::string("?") : r.dev);
  s += r.gateway.empty() ? " direct" : " gateway " + r.gateway;
  if (r.type != "unicast") s += " (" + r.type + " route)";
  return s;
}

bool arp_dead(const Attempt& a) {
  return a.neighbour_state == "INCOMPLETE" || a.neighbour_state == "FAILED";
}

// "refused (RST)", "dropped (no answer in 3000 ms)", "admin prohibited from 198.18.0.3"
std::string short_verdict(const Attempt& a) {
  const std::string& v = a.verdict;
  if (v == verdict::kRefused) return "refused (RST)";
  if (v == verdict::kTimeout)
    return arp_dead(a) ? "no answer, not even to ARP" : "dropped (no answer)";
  if (v == verdict::kUnreachable && a.icmp) {
    std::string k = a.icmp->kind;
    std::replace(k.begin(), k.end(), '-', ' ');
    if (a.icmp->from_self) return k + " (from this host)";
    return a.icmp->from.empty() ? k : k + " from " + a.icmp->from;
  }
  if (v == verdict::kNoRoute) return "no route (local)";
  if (v == verdict::kUnresolved) return "name not resolved";
  return v;
}

}  // namespace

const Attempt* last_failure(const std::vector<Attempt>& attempts) {
  const Attempt* f = nullptr;
  for (const auto& a : attempts)
    if (a.verdict != verdict::kOpen) f = &a;
  return f;
}

std::pair<int, int> attempts_opened(const ConnectResult& r) {
  std::map<long, bool> by;
  for (const auto& a : r.attempts) by[a.attempt] = by[a.attempt] || a.verdict == verdict::kOpen;
  int opened = 0;
  for (const auto& [n, o] : by) opened += o ? 1 : 0;
  return {opened, static_cast<int>(by.size())};
}

std::string overall_verdict(const ConnectResult& r) {
  auto [opened, total] = attempts_opened(r);
  if (total > 0 && opened == total) return verdict::kOpen;
  if (opened > 0) return "intermittent";
  if (const Attempt* f = last_failure(r.attempts)) return f->verdict;
  return r.cancelled ? verdict::kCancelled : verdict::kError;
}

std::string connect_summary(const ConnectResult& r) {
  auto [opened, total] = attempts_opened(r);
  std::string v = overall_verdict(r);
  std::string target = host_port(r.options.host, r.options.port);
  std::string s;
  if (v == verdict::kUnresolved) {
    s = target + " unresolved: " + r.resolve_error;
  } else {
    const Attempt* row = nullptr;
    for (const auto& a : r.attempts)
      if (a.verdict == verdict::kOpen) row = &a;
    if (!row) row = last_failure(r.attempts);
    std::string addr = row ? row->address : "";
    if (!addr.empty() && addr != r.options.host) target += " (" + addr + ")";
    if (v == verdict::kOpen || v == "intermittent") {
      double sum = 0;
      int n = 0;
      for (const auto& a : r.attempts)
        if (a.verdict == verdict::kOpen) {
          sum += a.ms;
          ++n;
        }
      s = fmt::format("{} {} {}/{}, avg {}", target, v, opened, total, ms_text(n ? sum / n : 0));
      if (const Attempt* f = last_failure(r.attempts); v == "intermittent" && f)
        s += ", others " + short_verdict(*f);
    } else if (row) {
      s = fmt::format("{} {} ({}/{} attempts)", target, short_verdict(*row), total - opened, total);
      if (v == verdict::kTimeout)
        s = fmt::format("{} {}: no answer within {} ms ({}/{})", target,
                        arp_dead(*row) ? "host down? no ARP/neighbour answer from " + row->neighbour
                                       : std::string("dropped"),
                        r.options.timeout_ms, total - opened, total);
    } else {
      s = target + " " + v;
    }
    std::string src = row ? row->source : "";
    if (!src.empty()) s += ", from " + src.substr(0, src.rfind(':'));
    for (const auto& rt : r.routes)
      if (rt.destination == addr) s += ", " + route_text(rt);
    if (row && row->hold) {
      const HoldResult& h = *row->hold;
      if (h.outcome == "stayed-open")
        s += fmt::format(", stayed open {} ms", h.requested_ms);
      else
        s += fmt::format(", {} by the peer after {} ms", h.outcome, h.after_ms);
    }
  }
  if (r.cancelled) s += " (cancelled)";
  return s;
}

std::string explain(const Attempt& a, const std::string& port) {
  const std::string& v = a.verdict;
  const std::string& addr = a.address;
  if (v == verdict::kOpen) return "connects";
  if (v == verdict::kRefused)
    return "the host answers but refuses port " + port +
           ": nothing listens there, or a firewall rejects it with tcp-reset";
  if (v == verdict::kTimeout && arp_dead(a))
    return "nothing answers ARP/neighbour discovery for " + a.neighbour +
           " on the local link: the host (or gateway) is down or the address is wrong";
  if (v == verdict::kTimeout)
    return "nothing came back: a firewall drops the SYN (or the reply), or the host is down "
           "behind a router that sends no ICMP";
  if (v == verdict::kUnreachable && a.icmp) {
    const std::string& kind = a.icmp->kind;
    const std::string& from = a.icmp->from;
    if (kind == "admin-prohibited" || kind == "host-prohibited" || kind == "net-prohibited")
      return "a firewall" + (from.empty() ? std::string() : " at " + from) + " rejects it (" +
             kind + ")";
    if (kind == "port-unreachable")
      return "an ICMP port unreachable" + (from.empty() ? std::string() : " from " + from) +
             ": a firewall rejecting with icmp port-unreachable (a TCP stack answers with RST)";
    if (a.icmp->from_self && kind == "host-unreachable")
      return "no ARP/neighbour answer on the local link for " + addr +
             " (or its gateway): the host is down or the address is wrong for this subnet";
    if (kind == "host-unreachable")
      return (from.empty() ? std::string("a router") : "router " + from) +
             " cannot reach the host (its ARP fails or it has no way there)";
    if (kind == "net-unreachable" || kind == "no-route")
      return (from.empty() ? std::string("a router") : "router " + from) + " has no route to " +
             addr;
    return "an ICMP error (" + kind + ")" + (from.empty() ? std::string() : " from " + from);
  }
  if (v == verdict::kNoRoute)
    return "this host has no route to " + addr + " (check `ip route get " + addr + "`)";
  if (v == verdict::kUnresolved) return "the name does not resolve here";
  return a.detail;
}

std::vector<std::string> connect_comparison(const std::vector<Side<ConnectResult>>& sides) {
  std::vector<std::string> out;
  if (sides.size() < 2) return out;
  struct S {
    std::string label, verdict, phrase, addr, port;
    const Attempt* row = nullptr;
  };
  std::vector<S> ss;
  for (const auto& side : sides) {
    const ConnectResult& r = side.result;
    S s;
    s.label = side.label;
    s.verdict = overall_verdict(r);
    s.port = std::to_string(r.options.port);
    for (const auto& a : r.attempts)
      if (a.verdict == verdict::kOpen) s.row = &a;
    const Attempt* f = last_failure(r.attempts);
    if (f && (s.verdict != verdict::kOpen || !s.row)) s.row = f;
    s.phrase = s.verdict == verdict::kOpen   ? "open"
               : s.verdict == "intermittent" ? "intermittent (some attempts open)"
                                             : (s.row ? short_verdict(*s.row) : s.verdict);
    s.addr = s.row ? s.row->address : "";
    ss.push_back(s);
  }
  bool same =
      std::all_of(ss.begin(), ss.end(), [&](const S& s) { return s.phrase == ss[0].phrase; });
  if (same) {
    if (ss[0].verdict == verdict::kOpen)
      out.push_back("every side connects");
    else if (ss[0].verdict == verdict::kRefused || ss[0].verdict == verdict::kTimeout)
      out.push_back("the same from every side (" + ss[0].phrase +
                    "): the cause is at or near the server, not on one side's path");
    else
      out.push_back("the same from every side: " + ss[0].phrase);
  } else {
    std::string line;
    for (const auto& s : ss) line += (line.empty() ? "" : ", ") + s.phrase + " from " + s.label;
    // Which side's path fails where another gets through to the host.
    std::string reached;
    for (const auto& s : ss)
      if (s.verdict == verdict::kOpen) reached = s.label;
    if (reached.empty())
      for (const auto& s : ss)
        if (s.verdict == verdict::kRefused) reached = s.label;
    std::vector<std::string> why;
    for (const auto& s : ss) {
      if (s.verdict == verdict::kOpen || s.label == reached) continue;
      std::string w;
      if (s.verdict == verdict::kTimeout && !(s.row && arp_dead(*s.row)))
        w = "a firewall on " + s.label + "'s path drops it (on " + s.label +
            ", between, or on the server for " + s.label + "'s address)";
      else if (s.verdict == verdict::kRefused)
        w = s.label + " is refused where " + reached + " connects: a firewall rejects " + s.label +
            "'s address with tcp-reset, or " + s.label + " reaches another host";
      else if (s.verdict == "intermittent")
        w = s.label + " connects only sometimes: loss, a rate limit or a flapping backend";
      else if (s.row)
        w = s.label + ": " + explain(*s.row, s.port);
      if (!w.empty()) why.push_back(w);
    }
    if (!why.empty()) {
      line += ": " + why[0];
      for (size_t i = 1; i < why.size(); ++i) line += "; " + why[i];
    }
    out.push_back(line);
  }
  // Different addresses for the same name.
  std::map<std::string, std::vector<std::string>> by_addr;
  for (const auto& s : ss)
    if (!s.addr.empty()) by_addr[s.addr].push_back(s.label);
  if (by_addr.size() > 1) {
    std::string line = "the sides used different addresses:";
    bool first = true;
    for (const auto& [addr, labels] : by_addr) {
      std::string ls;
      for (const auto& l : labels) ls += (ls.empty() ? "" : ", ") + l;
      line += (first ? " " : "; ") + addr + " (" + ls + ")";
      first = false;
    }
    out.push_back(line + ": the name resolves differently (compare with `sonde dns`)");
  }
  return out;
}

}  // namespace sonde::net
