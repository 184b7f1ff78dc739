#include "sonde/render/dns.h"

#include <fmt/format.h>

#include "sonde/render/printf.h"
#include "sonde/render/sides.h"
#include "sonde/render/table.h"

namespace sonde::render {

std::string render_dns_side(const std::string& label, const sonde::json& r) {
  std::string out;
  // value(), not the const operator[], which reads past the end of the map
  // for a key the agent left out.
  const sonde::json query = r.value("query", sonde::json::object());
  appendf(out, "== %s (host %s, %s %s) ==\n", terminal_safe(label).c_str(),
          terminal_safe(r.value("host", "?")).c_str(),
          terminal_safe(query.value("type", "")).c_str(),
          terminal_safe(query.value("name", "")).c_str());
  const sonde::json sys = r.value("system", sonde::json::object());
  std::string err = sys.value("error", "");
  std::string addrs;
  for (const auto& a : sys.value("addresses", sonde::json::array()))
    addrs += (addrs.empty() ? "" : ", ") + a.get<std::string>();
  appendf(out, "  system resolver: %s (%ld ms)\n",
          terminal_safe(err.empty() ? addrs : "error: " + err).c_str(), sys.value("ms", 0L));
  int i = 0;
  for (const auto& ns : r.value("nameservers", sonde::json::array())) {
    ++i;
    std::string e = ns.value("error", "");
    appendf(out, "  nameserver %d %s: %s (%ld ms%s)\n", i,
            terminal_safe(ns.value("server", "")).c_str(),
            terminal_safe(e.empty() ? ns.value("rcode", "") : "error: " + e).c_str(),
            ns.value("ms", 0L), ns.value("truncated_retried", false) ? ", retried over TCP" : "");
    for (const auto& a : ns.value("answers", sonde::json::array()))
      appendf(out, "    %-32s %-6s %8u  %s\n", terminal_safe(a.value("name", "")).c_str(),
              terminal_safe(a.value("type", "")).c_str(), a.value("ttl", 0u),
              terminal_safe(a.value("data", "")).c_str());
  }
  if (i == 0) appendf(out, "  no nameservers (resolv.conf lists none)\n");
  std::string search;
  for (const auto& s : r.value("search", sonde::json::array()))
    search += (search.empty() ? "" : " ") + s.get<std::string>();
  if (!search.empty()) appendf(out, "  search: %s\n", terminal_safe(search).c_str());
  for (const auto& n : r.value("notes", sonde::json::array()))
    appendf(out, "  note: %s\n", terminal_safe(n.get<std::string>()).c_str());
  return out;
}

namespace {

// ok, nxdomain, servfail, timeout, or fail: the system resolver's outcome,
// named by what the first nameserver said when it failed.
std::string dns_verdict(const std::string& sys_error, const sonde::json& first_ns) {
  if (sys_error.empty()) return "ok";
  std::string rcode = first_ns.value("rcode", "");
  if (rcode == "NXDOMAIN") return "nxdomain";
  if (rcode == "SERVFAIL") return "servfail";
  std::string e = first_ns.value("error", sys_error);
  if (e.find("timed out") != std::string::npos || e.find("timeout") != std::string::npos)
    return "timeout";
  if (rcode == "NOERROR") return "no address";
  return "fail";
}

}  // namespace

std::string render_dns_matrix(const std::vector<sonde::json>& sides) {
  std::vector<MatrixRow> rows;
  for (const auto& s : sides) {
    const sonde::json r = s.value("result", sonde::json::object());
    const sonde::json sys = r.value("system", sonde::json::object());
    const sonde::json nss = r.value("nameservers", sonde::json::array());
    const sonde::json first = nss.empty() || !nss[0].is_object() ? sonde::json::object() : nss[0];
    std::string err = sys.value("error", "");
    std::string answer;
    for (const auto& a : sys.value("addresses", sonde::json::array()))
      if (a.is_string()) answer += (answer.empty() ? "" : ", ") + a.get<std::string>();
    if (!err.empty()) answer = "error: " + err;
    std::string ns = first.empty() ? "-"
                                   : first.value("server", "") + " " +
                                         (first.value("error", "").empty()
                                              ? first.value("rcode", "")
                                              : "error: " + first.value("error", ""));
    std::string v = dns_verdict(err, first);
    rows.push_back({s.value("side", "?"),
                    v,
                    v + "|" + answer,
                    {answer, fmt::format("{} ms", sys.value("ms", 0L)), ns}});
  }
  return render_side_matrix({{"SYSTEM RESOLVER"}, {"TIME", Align::kRight}, {"NAMESERVER"}},
                            std::move(rows));
}

}  // namespace sonde::render
