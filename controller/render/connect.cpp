#include "sonde/render/connect.h"

#include "sonde/net/connect.h"
#include "sonde/render/json_access.h"
#include "sonde/render/printf.h"
#include "sonde/render/sides.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

std::string ms_cell(double ms) {
  return ms < 10 ? fmt::format("{:.2f} ms", ms) : fmt::format("{:.0f} ms", ms);
}

std::string hold_text(const json& h) {
  std::string o = h.value("outcome", "");
  std::string s;
  if (o == "stayed-open")
    s = fmt::format("stayed open for {} ms", h.value("requested_ms", 0L));
  else if (o == "closed")
    s = fmt::format("closed by the peer (FIN) after {} ms", h.value("after_ms", 0L));
  else if (o == "reset")
    s = fmt::format("reset by the peer (RST) after {} ms", h.value("after_ms", 0L));
  else if (o == "cancelled")
    s = fmt::format("hold cancelled after {} ms", h.value("after_ms", 0L));
  else
    s = fmt::format("hold ended after {} ms: {}", h.value("after_ms", 0L), h.value("error", o));
  long bytes = h.value("bytes_received", 0L);
  if (bytes > 0) s += fmt::format(", {} bytes received", bytes);
  if (!h.value("banner", "").empty()) s += " \"" + h.value("banner", "") + "\"";
  if (!h.value("tcp_state", "").empty()) s += ", socket " + h.value("tcp_state", "");
  return s;
}

}  // namespace

std::string render_connect_side(const std::string& label, const sonde::json& r) {
  std::string result;
  const json& t = json_object(r, "target");
  std::string thost = t.value("host", "");
  if (thost.find(':') != std::string::npos) thost = "[" + thost + "]";
  appendf(result, "== %s (host %s → %s:%d) ==\n", terminal_safe(label).c_str(),
          terminal_safe(r.value("host", "?")).c_str(), terminal_safe(thost).c_str(),
          t.value("port", 0));
  const json& res = json_object(r, "resolve");
  std::string addrs;
  for (const auto& a : json_array(res, "addresses"))
    if (a.is_string()) addrs += (addrs.empty() ? "" : ", ") + a.get<std::string>();
  if (!addrs.empty() && addrs != t.value("host", ""))
    appendf(result, "  resolves to: %s (%ld ms)\n", terminal_safe(addrs).c_str(),
            res.value("ms", 0L));
  Table table({{"#", Align::kRight},
               {"address"},
               {"verdict"},
               {"time", Align::kRight},
               {"source"},
               {"detail"}});
  for (const auto& a : json_array(r, "attempts")) {
    if (!a.is_object()) continue;
    std::string detail = a.value("detail", "");
    if (a.contains("hold") && a["hold"].is_object()) detail += "; " + hold_text(a["hold"]);
    std::string v = a.value("verdict", "");
    table.add_row({std::to_string(a.value("attempt", 0)), a.value("address", "-"), v,
                   ms_cell(a.value("ms", 0.0)), a.value("source", ""), detail});
  }
  std::string out = table.render();
  for (size_t p = 0; p < out.size();) {
    size_t e = out.find('\n', p);
    appendf(result, "  %s\n", out.substr(p, e - p).c_str());
    p = e == std::string::npos ? out.size() : e + 1;
  }
  for (const auto& rt : json_array(r, "routes")) {
    if (!rt.is_object()) continue;
    std::string err = rt.value("error", "");
    if (!err.empty()) {
      appendf(result, "  route to %s: %s\n", terminal_safe(rt.value("destination", "")).c_str(),
              terminal_safe(err).c_str());
      continue;
    }
    std::string s = "dev " + (rt.value("dev", "").empty() ? "?" : rt.value("dev", ""));
    s += rt.value("gateway", "").empty() ? ", direct" : ", via " + rt.value("gateway", "");
    if (!rt.value("source", "").empty()) s += ", src " + rt.value("source", "");
    if (rt.value("mtu", 0u) > 0) s += fmt::format(", mtu {}", rt.value("mtu", 0u));
    if (rt.value("type", "unicast") != "unicast") s += ", " + rt.value("type", "") + " route";
    int table_id = rt.value("table", 0);
    if (table_id != 0 && table_id != 254) s += fmt::format(", table {}", table_id);
    appendf(result, "  route to %s: %s\n", terminal_safe(rt.value("destination", "")).c_str(),
            terminal_safe(s).c_str());
  }
  for (const auto& n : json_array(r, "notes"))
    if (n.is_string()) appendf(result, "  note: %s\n", terminal_safe(n.get<std::string>()).c_str());
  // What a failure means, from the last failing row.
  std::string v = net::overall_verdict(r);
  if (v != "open") {
    const json* last = nullptr;
    for (const auto& a : json_array(r, "attempts"))
      if (a.is_object() && a.value("verdict", "") != "open") last = &a;
    if (last && v != "cancelled")
      appendf(result, "  meaning: %s\n",
              terminal_safe(net::explain(*last, std::to_string(t.value("port", 0)))).c_str());
  }
  appendf(result, "  summary: %s\n", terminal_safe(r.value("summary", "")).c_str());
  return result;
}

std::string render_connect(const std::vector<sonde::json>& results,
                           const std::vector<std::string>& comparison) {
  std::string out;
  for (const auto& s : results)
    out += render_connect_side(s["side"].get<std::string>(), s["result"]) + "\n";
  return out + render_list("comparison", comparison);
}

}  // namespace sonde::render
