#include "sonde/render/capture.h"

#include "sonde/common/io.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

std::string per_side(const net::Both& b) {
  return fmt::format("{}/{}", b.client, b.server);
}

std::string ms_text(const std::optional<double>& v) {
  if (!v) return "-";
  return *v < 10 ? fmt::format("{:.2f}", *v) : fmt::format("{:.1f}", *v);
}

std::string rst_text(const net::Both& r) {
  if (!r.client && !r.server) return "-";
  if (r.client && r.server) return "both";
  return r.client ? "client" : "server";
}

// "\nTCP flows: 12, top 5 (how)\n": the top is said when flows were left out.
std::string flows_title(const char* kind, uint64_t total, size_t shown, const char* how) {
  return fmt::format("\n{} flows: {}{} ({})\n", kind, total,
                     shown < total ? fmt::format(", top {}", shown) : "", how);
}

std::string tcp_flows(const net::TrafficSummary& t) {
  std::string out = flows_title("TCP", t.tcp_flows_total, t.tcp_flows.size(),
                                "by bytes; c/s = sent by client/server");
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
  for (const auto& f : t.tcp_flows)
    tab.add_row({f.client, f.server, per_side(f.packets), human_bytes(f.payload.client),
                 human_bytes(f.payload.server), ms_text(f.rtt_ms), per_side(f.retransmissions),
                 rst_text(f.rsts), per_side(f.zero_windows),
                 fmt::format("{:.1f}", f.duration_ms / 1000), f.state});
  return out + indented(tab) +
         "  (RTT: SYN to the client's ACK as seen here; at the server, most of it is the "
         "path to the client)\n";
}

std::string udp_flows(const net::TrafficSummary& t) {
  std::string out = flows_title("UDP", t.udp_flows_total, t.udp_flows.size(),
                                "by bytes; the client sent the first packet seen");
  Table tab({{"CLIENT"},
             {"SERVER"},
             {"PKTS c/s", Align::kRight},
             {"DATA c>s", Align::kRight},
             {"DATA s>c", Align::kRight},
             {"DUR s", Align::kRight}});
  for (const auto& f : t.udp_flows)
    tab.add_row({f.client, f.server, per_side(f.packets), human_bytes(f.payload.client),
                 human_bytes(f.payload.server), fmt::format("{:.1f}", f.duration_ms / 1000)});
  return out + indented(tab);
}

std::string dns_line(const net::DnsSummary& d) {
  std::string answer;
  if (d.rcode) {
    answer = *d.rcode;
    for (const auto& a : d.answers) answer += ", " + a;
    if (d.ms) answer += " (" + ms_text(d.ms) + " ms)";
  } else {
    answer = "no answer seen";
  }
  std::string extra;
  if (d.queries > 1) extra += fmt::format(", asked {} times", d.queries);
  if (!d.query_us) extra += ", query not seen";
  if (d.truncated) extra += ", truncated";
  return fmt::format("  {} {} ({} > {}, id {}{}): {}\n", terminal_safe(d.type),
                     terminal_safe(d.name), terminal_safe(d.client), terminal_safe(d.server), d.id,
                     extra, terminal_safe(answer));
}

}  // namespace

std::string render_capture(const net::CaptureResult& r, const std::string& file) {
  std::string out;
  const net::CaptureStats& st = r.stats;
  const net::TrafficSummary& t = r.traffic;
  const net::FlowTotals& n = t.totals;
  out += fmt::format("capture on {} at {} ({}, snaplen {}){}\n", terminal_safe(r.interface),
                     terminal_safe(r.host), terminal_safe(r.linktype_name), r.snaplen,
                     r.filter.empty() ? "" : ", filter: " + terminal_safe(r.filter));
  if (r.excluded)
    out += fmt::format("  left out: {} ({} - {}); --no-exclude-ssh keeps it\n",
                       terminal_safe(r.excluded->what), terminal_safe(r.excluded->client),
                       terminal_safe(r.excluded->server));
  out += fmt::format("  {} packets, {} on the wire, in {:.1f} s (stopped by {})\n", st.captured,
                     human_bytes(st.bytes), static_cast<double>(r.elapsed_ms) / 1000,
                     terminal_safe(r.stopped_by));
  if (st.kernel_known)
    // On lo the kernel hands libpcap each packet twice (out and in) and
    // counts both; libpcap keeps one.
    out += fmt::format(
        "  kernel: {} passed the filter{}, {} dropped (buffer full), {} dropped by the "
        "interface\n",
        st.received, r.interface == "lo" ? " (lo counts each packet twice)" : "", st.dropped,
        st.if_dropped);
  out += fmt::format(
      "  ipv4 {}, ipv6 {}, tcp {}, udp {}, icmp {}, other {}, fragments {}, undecoded {}\n", n.ipv4,
      n.ipv6, n.tcp, n.udp, n.icmp, n.other, n.fragments, n.undecoded);
  if (!file.empty() && file != "-")
    out += fmt::format("  wrote {} ({}): tshark -r {}, or open it in Wireshark\n",
                       terminal_safe(file), human_bytes(r.file_bytes), terminal_safe(file));
  if (t.tcp_flows_total > 0) out += tcp_flows(t);
  if (t.udp_flows_total > 0) out += udp_flows(t);
  if (n.flows_not_tracked > 0)
    out += fmt::format("  {} more flows not tracked ({} packets): the flow table is full\n",
                       n.flows_not_tracked, n.untracked_packets);
  if (t.dns_total > 0) {
    out += fmt::format("\nDNS: {} {}{}\n", t.dns_total, t.dns_total == 1 ? "query" : "queries",
                       t.dns.size() < t.dns_total ? fmt::format(", first {}", t.dns.size()) : "");
    for (const auto& d : t.dns) out += dns_line(d);
  }
  if (n.dns_undecodable > 0)
    out += fmt::format("  {} port-53 packets were not DNS we could decode\n", n.dns_undecodable);
  for (const auto& note : r.notes) out += "note: " + terminal_safe(note) + "\n";
  return out;
}

}  // namespace sonde::render
