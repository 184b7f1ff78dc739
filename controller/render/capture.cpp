#include "sonde/render/capture.h"

#include <algorithm>
#include <map>
#include <set>

#include "sonde/common/io.h"
#include "sonde/render/fleet.h"
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

namespace {

// Every host's reset flows in time order on this machine's clock, with
// their uncertainty; two are ordered only when their intervals do not
// overlap.
std::string fleet_resets(const std::vector<CaptureHost>& hosts, size_t top_n) {
  struct Reset {
    const CaptureHost* h;
    const net::TcpFlowSummary* f;
    ClockInterval at;
  };
  std::vector<Reset> resets;
  bool own_clock = false;
  for (const auto& h : hosts)
    for (const auto& f : h.result.traffic.tcp_flows) {
      if (!f.rsts.client && !f.rsts.server) continue;
      // A reset ends its flow: the flow's last packet is the RST.
      int64_t ns = f.first_us * 1000 + static_cast<int64_t>(f.duration_ms * 1e6);
      ClockInterval at = h.clock ? on_controller_clock(ns, *h.clock) : ClockInterval{ns, ns};
      own_clock |= !h.clock;
      resets.push_back({&h, &f, at});
    }
  if (resets.empty()) return {};
  std::stable_sort(resets.begin(), resets.end(),
                   [](const Reset& a, const Reset& b) { return a.at.mid_ns() < b.at.mid_ns(); });
  std::string out =
      fmt::format("\nresets in time order, on this machine's clock{}: {}{}\n",
                  own_clock ? " (hosts without a measured offset on their own)" : "", resets.size(),
                  resets.size() > top_n ? fmt::format(", first {}", top_n) : "");
  Table t({{""}, {"TIME"}, {"+/-", Align::kRight}, {"HOST"}, {"FLOW"}, {"RST BY"}});
  for (size_t i = 0; i < resets.size() && i < top_n; ++i) {
    const Reset& r = resets[i];
    // Same host: one clock, the order holds. Another host: only when the
    // intervals do not overlap.
    bool unknown = i > 0 && resets[i - 1].h != r.h && order_events(resets[i - 1].at, r.at) == 0;
    double bound_ms = static_cast<double>(r.at.hi_ns - r.at.lo_ns) / 2e6;
    t.add_row({unknown ? "~" : "", format_trace_time(r.at.mid_ns(), 2),
               fmt::format("{:.3f} ms", bound_ms), terminal_safe(r.h->host),
               terminal_safe(r.f->client + " > " + r.f->server), rst_text(r.f->rsts)});
  }
  out += indented(t);
  out += "  (~: not known to come after the line above: their +/- intervals overlap)\n";
  return out;
}

}  // namespace

std::string render_capture_fleet(const std::vector<CaptureHost>& hosts, size_t top_n) {
  std::string out;
  Table ht({{"HOST"},
            {"PACKETS", Align::kRight},
            {"BYTES", Align::kRight},
            {"DROPPED", Align::kRight},
            {"TCP", Align::kRight},
            {"UDP", Align::kRight},
            {"DNS", Align::kRight},
            {"RST", Align::kRight},
            {"RETX", Align::kRight},
            {"PCAP"}});
  struct Server {
    std::set<std::string> hosts;
    uint64_t flows = 0, bytes = 0, resets = 0, retx = 0;
    std::vector<double> rtt;
  };
  std::map<std::string, Server> servers;
  struct Name {
    std::set<std::string> hosts;
    uint64_t queries = 0;
    std::map<std::string, uint64_t> rcodes;
    std::set<std::string> answers;
    std::vector<double> ms;
  };
  std::map<std::pair<std::string, std::string>, Name> names;
  for (const auto& h : hosts) {
    const auto& r = h.result;
    const auto& t = r.traffic;
    uint64_t resets = 0, retx = 0;
    for (const auto& f : t.tcp_flows) {
      bool reset = f.rsts.client || f.rsts.server;
      resets += reset;
      retx += f.retransmissions.client + f.retransmissions.server;
      auto& sv = servers[f.server];
      sv.hosts.insert(h.host);
      ++sv.flows;
      sv.bytes += f.bytes.client + f.bytes.server;
      sv.resets += reset;
      sv.retx += f.retransmissions.client + f.retransmissions.server;
      if (f.rtt_ms) sv.rtt.push_back(*f.rtt_ms);
    }
    for (const auto& f : t.udp_flows) {
      auto& sv = servers[f.server + "/udp"];
      sv.hosts.insert(h.host);
      ++sv.flows;
      sv.bytes += f.bytes.client + f.bytes.server;
    }
    for (const auto& d : t.dns) {
      auto& n = names[{d.name, d.type}];
      n.hosts.insert(h.host);
      n.queries += std::max<uint32_t>(d.queries, 1);
      ++n.rcodes[d.rcode ? *d.rcode : "no answer"];
      for (const auto& a : d.answers) n.answers.insert(a);
      if (d.ms) n.ms.push_back(*d.ms);
    }
    ht.add_row({terminal_safe(h.host), std::to_string(r.stats.captured), human_bytes(r.stats.bytes),
                std::to_string(r.stats.dropped + r.stats.if_dropped),
                std::to_string(t.tcp_flows_total), std::to_string(t.udp_flows_total),
                std::to_string(t.dns_total), std::to_string(resets), std::to_string(retx),
                h.file.empty() ? "-" : terminal_safe(h.file)});
  }
  out += ht.render();
  auto median = [](std::vector<double> v) {
    if (v.empty()) return std::string("-");
    std::sort(v.begin(), v.end());
    return ms_text(v[v.size() / 2]);
  };
  const size_t n_hosts = hosts.size();
  if (!servers.empty()) {
    std::vector<std::pair<std::string, const Server*>> order;
    for (const auto& [k, v] : servers) order.emplace_back(k, &v);
    // Servers that reset or retransmitted lead; then by bytes.
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      bool ta = a.second->resets || a.second->retx, tb = b.second->resets || b.second->retx;
      if (ta != tb) return ta;
      return a.second->bytes > b.second->bytes;
    });
    Table st({{"SERVER"},
              {"HOSTS", Align::kRight},
              {"FLOWS", Align::kRight},
              {"BYTES", Align::kRight},
              {"RST", Align::kRight},
              {"RETX", Align::kRight},
              {"RTT ms", Align::kRight}});
    for (size_t i = 0; i < order.size() && i < top_n; ++i) {
      const Server& v = *order[i].second;
      st.add_row({terminal_safe(order[i].first), fmt::format("{}/{}", v.hosts.size(), n_hosts),
                  std::to_string(v.flows), human_bytes(v.bytes), std::to_string(v.resets),
                  std::to_string(v.retx), median(v.rtt)});
    }
    out +=
        fmt::format("\nflows by server, across hosts: {}{} (RST: flows reset; RTT: median)\n",
                    servers.size(), servers.size() > top_n ? fmt::format(", top {}", top_n) : "");
    out += indented(st);
  }
  if (!names.empty()) {
    std::vector<std::pair<const std::pair<std::string, std::string>*, const Name*>> order;
    for (const auto& [k, v] : names) order.emplace_back(&k, &v);
    // Names some host did not get an answer for lead; then the most asked.
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      auto bad = [](const Name* n) {
        return n->rcodes.size() > 1 || !n->rcodes.count("NOERROR") || n->answers.size() > 4;
      };
      if (bad(a.second) != bad(b.second)) return bad(a.second);
      return a.second->queries > b.second->queries;
    });
    Table nt({{"NAME"},
              {"TYPE"},
              {"HOSTS", Align::kRight},
              {"QUERIES", Align::kRight},
              {"RCODES"},
              {"ANSWERS"},
              {"ms", Align::kRight}});
    for (size_t i = 0; i < order.size() && i < top_n; ++i) {
      const Name& v = *order[i].second;
      std::string rc, ans;
      for (const auto& [code, count] : v.rcodes)
        rc += (rc.empty() ? "" : ", ") + fmt::format("{} {}", code, count);
      size_t shown = 0;
      for (const auto& a : v.answers) {
        if (++shown > 2) {
          ans += fmt::format(" (+{})", v.answers.size() - 2);
          break;
        }
        ans += (ans.empty() ? "" : ", ") + a;
      }
      nt.add_row({terminal_safe(order[i].first->first), terminal_safe(order[i].first->second),
                  fmt::format("{}/{}", v.hosts.size(), n_hosts), std::to_string(v.queries),
                  terminal_safe(rc), terminal_safe(ans.empty() ? "-" : ans), median(v.ms)});
    }
    out += fmt::format("\nDNS names across hosts: {}{}\n", names.size(),
                       names.size() > top_n ? fmt::format(", top {}", top_n) : "");
    out += indented(nt);
  }
  out += fleet_resets(hosts, top_n);
  return out;
}

}  // namespace sonde::render
