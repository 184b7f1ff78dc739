#include "sonde/render/capture.h"

#include "sonde/common/io.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

std::string per_side(const json& b) {
  return fmt::format("{}/{}", b.value("client", 0ULL), b.value("server", 0ULL));
}

std::string ms_text(const json& v) {
  if (!v.is_number()) return "-";
  double ms = v.get<double>();
  return ms < 10 ? fmt::format("{:.2f}", ms) : fmt::format("{:.1f}", ms);
}

std::string rst_text(const json& r) {
  uint64_t c = r.value("client", 0ULL), s = r.value("server", 0ULL);
  if (!c && !s) return "-";
  if (c && s) return "both";
  return c ? "client" : "server";
}

}  // namespace

std::string render_capture(const sonde::json& r, const std::string& file) {
  std::string out;
  const json& st = r.value("stats", json::object());
  const json& t = r.value("traffic", json::object());
  out += fmt::format(
      "capture on {} at {} ({}, snaplen {}){}\n", terminal_safe(r.value("interface", "?")),
      terminal_safe(r.value("host", "?")), terminal_safe(r.value("linktype_name", "?")),
      r.value("snaplen", 0),
      r.value("filter", "").empty() ? "" : ", filter: " + terminal_safe(r.value("filter", "")));
  if (r.contains("excluded") && r["excluded"].is_object())
    out += fmt::format("  left out: {} ({} - {}); --no-exclude-ssh keeps it\n",
                       terminal_safe(r["excluded"].value("what", "")),
                       terminal_safe(r["excluded"].value("client", "")),
                       terminal_safe(r["excluded"].value("server", "")));
  out += fmt::format("  {} packets, {} on the wire, in {:.1f} s (stopped by {})\n",
                     st.value("captured", 0ULL), human_bytes(st.value("bytes", 0ULL)),
                     static_cast<double>(r.value("elapsed_ms", 0L)) / 1000,
                     terminal_safe(r.value("stopped_by", "?")));
  if (st.contains("received"))
    // On lo the kernel hands libpcap each packet twice (out and in) and
    // counts both; libpcap keeps one.
    out += fmt::format(
        "  kernel: {} passed the filter{}, {} dropped (buffer full), {} dropped by the "
        "interface\n",
        st.value("received", 0ULL),
        r.value("interface", "") == "lo" ? " (lo counts each packet twice)" : "",
        st.value("dropped", 0ULL), st.value("if_dropped", 0ULL));
  out += fmt::format(
      "  ipv4 {}, ipv6 {}, tcp {}, udp {}, icmp {}, other {}, fragments {}, undecoded {}\n",
      t.value("ipv4", 0ULL), t.value("ipv6", 0ULL), t.value("tcp", 0ULL), t.value("udp", 0ULL),
      t.value("icmp", 0ULL), t.value("other", 0ULL), t.value("fragments", 0ULL),
      t.value("undecoded", 0ULL));
  if (!file.empty() && file != "-")
    out +=
        fmt::format("  wrote {} ({}): tshark -r {}, or open it in Wireshark\n", terminal_safe(file),
                    human_bytes(r.value("file_bytes", 0ULL)), terminal_safe(file));

  const json& tcp = t.value("tcp_flows", json::array());
  uint64_t tcp_total = t.value("tcp_flows_total", 0ULL);
  if (tcp_total > 0) {
    out += fmt::format("\nTCP flows: {}{} (by bytes; c/s = sent by client/server)\n", tcp_total,
                       tcp.size() < tcp_total ? fmt::format(", top {}", tcp.size()) : "");
    Table tab({{"CLIENT"},
               {"SERVER"},
               {"PKTS c/s", Align::kRight},
               {"DATA c>s", Align::kRight},
               {"DATA s>c", Align::kRight},
               {"RTT ms", Align::kRight},
               {"RETX c/s", Align::kRight},
               {"RST"},
               {"ZWIN c/s", Align::kRight},
               {"DUR s", Align::kRight},
               {"STATE"}});
    for (const auto& f : tcp) {
      const json& pay = f.value("payload", json::object());
      tab.add_row({f.value("client", ""), f.value("server", ""),
                   per_side(f.value("packets", json::object())),
                   human_bytes(pay.value("client", 0ULL)), human_bytes(pay.value("server", 0ULL)),
                   ms_text(f.value("handshake", json::object()).value("rtt_ms", json())),
                   per_side(f.value("retransmissions", json::object())),
                   rst_text(f.value("rsts", json::object())),
                   per_side(f.value("zero_windows", json::object())),
                   fmt::format("{:.1f}", f.value("duration_ms", 0.0) / 1000),
                   f.value("state", "")});
    }
    std::string tab_text = tab.render();
    for (size_t pos = 0; pos < tab_text.size();) {
      size_t nl = tab_text.find('\n', pos);
      out += "  " + tab_text.substr(pos, nl - pos + 1);
      pos = nl + 1;
    }
    out +=
        "  (RTT: SYN to the client's ACK as seen here; at the server, most of it is the "
        "path to the client)\n";
  }
  const json& udp = t.value("udp_flows", json::array());
  uint64_t udp_total = t.value("udp_flows_total", 0ULL);
  if (udp_total > 0) {
    out +=
        fmt::format("\nUDP flows: {}{} (by bytes; the client sent the first packet seen)\n",
                    udp_total, udp.size() < udp_total ? fmt::format(", top {}", udp.size()) : "");
    Table tab({{"CLIENT"},
               {"SERVER"},
               {"PKTS c/s", Align::kRight},
               {"DATA c>s", Align::kRight},
               {"DATA s>c", Align::kRight},
               {"DUR s", Align::kRight}});
    for (const auto& f : udp) {
      const json& pay = f.value("payload", json::object());
      tab.add_row({f.value("client", ""), f.value("server", ""),
                   per_side(f.value("packets", json::object())),
                   human_bytes(pay.value("client", 0ULL)), human_bytes(pay.value("server", 0ULL)),
                   fmt::format("{:.1f}", f.value("duration_ms", 0.0) / 1000)});
    }
    std::string tab_text = tab.render();
    for (size_t pos = 0; pos < tab_text.size();) {
      size_t nl = tab_text.find('\n', pos);
      out += "  " + tab_text.substr(pos, nl - pos + 1);
      pos = nl + 1;
    }
  }
  if (t.value("flows_not_tracked", 0ULL) > 0)
    out += fmt::format("  {} more flows not tracked ({} packets): the flow table is full\n",
                       t.value("flows_not_tracked", 0ULL), t.value("untracked_packets", 0ULL));

  const json& dns = t.value("dns", json::array());
  uint64_t dns_total = t.value("dns_total", 0ULL);
  if (dns_total > 0) {
    out += fmt::format("\nDNS: {} {}{}\n", dns_total, dns_total == 1 ? "query" : "queries",
                       dns.size() < dns_total ? fmt::format(", first {}", dns.size()) : "");
    for (const auto& d : dns) {
      std::string answer;
      if (d.value("rcode", json()).is_string()) {
        answer = d["rcode"].get<std::string>();
        for (const auto& a : d.value("answers", json::array()))
          answer += ", " + a.get<std::string>();
        if (d.value("ms", json()).is_number()) answer += " (" + ms_text(d["ms"]) + " ms)";
      } else {
        answer = "no answer seen";
      }
      std::string extra;
      if (d.value("queries", 0) > 1)
        extra += fmt::format(", asked {} times", d.value("queries", 0));
      if (d.value("query_us", json()).is_null()) extra += ", query not seen";
      if (d.value("truncated", false)) extra += ", truncated";
      out += fmt::format("  {} {} ({} > {}, id {}{}): {}\n", terminal_safe(d.value("type", "")),
                         terminal_safe(d.value("name", "")), terminal_safe(d.value("client", "")),
                         terminal_safe(d.value("server", "")), d.value("id", 0), extra,
                         terminal_safe(answer));
    }
  }
  if (t.value("dns_undecodable", 0ULL) > 0)
    out += fmt::format("  {} port-53 packets were not DNS we could decode\n",
                       t.value("dns_undecodable", 0ULL));
  for (const auto& n : r.value("notes", json::array()))
    if (n.is_string()) out += "note: " + terminal_safe(n.get<std::string>()) + "\n";
  return out;
}

}  // namespace sonde::render
