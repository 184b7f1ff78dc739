#include "sonde/render/connect.h"

#include <algorithm>
#include <map>

#include "sonde/net/address.h"
#include "sonde/net/connect.h"
#include "sonde/render/printf.h"
#include "sonde/render/sides.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

std::string ms_cell(double ms) {
  return ms < 10 ? fmt::format("{:.2f} ms", ms) : fmt::format("{:.0f} ms", ms);
}

std::string hold_text(const net::HoldResult& h) {
  const std::string& o = h.outcome;
  std::string s;
  if (o == "stayed-open")
    s = fmt::format("stayed open for {} ms", h.requested_ms);
  else if (o == "closed")
    s = fmt::format("closed by the peer (FIN) after {} ms", h.after_ms);
  else if (o == "reset")
    s = fmt::format("reset by the peer (RST) after {} ms", h.after_ms);
  else if (o == "cancelled")
    s = fmt::format("hold cancelled after {} ms", h.after_ms);
  else
    s = fmt::format("hold ended after {} ms: {}", h.after_ms, h.error);
  if (h.bytes_received > 0) s += fmt::format(", {} bytes received", h.bytes_received);
  if (!h.banner.empty()) s += " \"" + h.banner + "\"";
  if (!h.tcp_state.empty()) s += ", socket " + h.tcp_state;
  return s;
}

std::string route_line(const net::RouteInfo& rt) {
  if (!rt.error.empty()) return rt.error;
  std::string s = "dev " + (rt.dev.empty() ? "?" : rt.dev);
  s += rt.gateway.empty() ? ", direct" : ", via " + rt.gateway;
  if (!rt.prefsrc.empty()) s += ", src " + rt.prefsrc;
  if (rt.mtu > 0) s += fmt::format(", mtu {}", rt.mtu);
  if (rt.type != "unicast") s += ", " + rt.type + " route";
  if (rt.table != 0 && rt.table != 254) s += fmt::format(", table {}", rt.table);
  return s;
}

}  // namespace

std::string render_connect_side(const std::string& label, const net::ConnectResult& r) {
  std::string result;
  const std::string& host = r.options.host;
  appendf(result, "== %s (host %s → %s) ==\n", terminal_safe(label).c_str(),
          terminal_safe(r.agent_host).c_str(),
          terminal_safe(net::host_port(host, r.options.port)).c_str());
  std::string addrs;
  for (const auto& a : r.addresses) addrs += (addrs.empty() ? "" : ", ") + a;
  if (!addrs.empty() && addrs != host)
    appendf(result, "  resolves to: %s (%ld ms)\n", terminal_safe(addrs).c_str(), r.resolve_ms);
  Table table({{"#", Align::kRight},
               {"address"},
               {"verdict"},
               {"time", Align::kRight},
               {"source"},
               {"detail"}});
  for (const auto& a : r.attempts) {
    std::string detail = a.detail;
    if (a.hold) detail += "; " + hold_text(*a.hold);
    table.add_row(
        {std::to_string(a.attempt), a.address, a.verdict, ms_cell(a.ms), a.source, detail});
  }
  result += indented(table);
  for (const auto& rt : r.routes)
    appendf(result, "  route to %s: %s\n", terminal_safe(rt.destination).c_str(),
            terminal_safe(route_line(rt)).c_str());
  for (const auto& n : r.notes) appendf(result, "  note: %s\n", terminal_safe(n).c_str());
  // What a failure means, from the last failing row.
  std::string v = net::overall_verdict(r);
  if (v != "open") {
    const net::Attempt* last = net::last_failure(r.attempts);
    if (last && v != "cancelled")
      appendf(result, "  meaning: %s\n",
              terminal_safe(net::explain(*last, std::to_string(r.options.port))).c_str());
  }
  appendf(result, "  summary: %s\n", terminal_safe(net::connect_summary(r)).c_str());
  return result;
}

std::string render_connect_matrix(const std::vector<net::Side<net::ConnectResult>>& sides) {
  std::vector<MatrixRow> rows;
  for (const auto& side : sides) {
    const auto& res = side.result;
    auto [opened, made] = net::attempts_opened(res);
    std::vector<double> ms;
    for (const auto& a : res.attempts) ms.push_back(a.ms);
    std::sort(ms.begin(), ms.end());
    std::string median = ms.empty() ? "-" : ms_cell(ms[ms.size() / 2]);
    std::string detail;
    if (!res.resolve_error.empty())
      detail = res.resolve_error;
    else if (const net::Attempt* f = net::last_failure(res.attempts))
      detail = f->detail;
    else if (!res.attempts.empty() && !res.attempts.back().source.empty())
      detail = "from " + res.attempts.back().source;
    rows.push_back({side.label,
                    net::overall_verdict(res),
                    "",
                    {fmt::format("{}/{}", opened, made), median, detail}});
  }
  return render_side_matrix({{"OPENED", Align::kRight}, {"MEDIAN", Align::kRight}, {"DETAIL"}},
                            std::move(rows));
}

std::string render_connect(const std::vector<net::Side<net::ConnectResult>>& sides,
                           const std::vector<std::string>& comparison) {
  // Many sides (--from web[01-40]): one line each, the odd ones first.
  if (sides.size() > kSideBlocksUpTo)
    return render_connect_matrix(sides) + render_list("comparison", comparison);
  std::string out;
  for (const auto& s : sides) out += render_connect_side(s.label, s.result) + "\n";
  return out + render_list("comparison", comparison);
}

}  // namespace sonde::render
