#include "sonde/render/speed.h"

#include "sonde/common/io.h"
#include "sonde/render/printf.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

std::string ms(double us) {
  return fmt::format("{:.3f}", us / 1000.0);
}

}  // namespace

std::string speed_summary(const sonde::json& paths) {
  std::string out;
  for (const auto& p : paths) {
    std::string part = fmt::format("{} {}", p.value("path", ""), p.value("direction", ""));
    std::string st = p.value("status", "");
    if (st == "ok") {
      part += fmt::format(" {:.2f} Gbit/s", p.value("gbps", 0.0));
      if (p.contains("rtt") && p["rtt"].value("count", 0) > 0)
        part += fmt::format(", rtt median {} ms", ms(p["rtt"].value("median_us", 0.0)));
    } else if (st == "n/a") {
      part = fmt::format("{} n/a ({})", p.value("path", ""), p.value("reason", ""));
    } else {
      part += " failed: " + p.value("reason", "");
    }
    out += (out.empty() ? "" : "; ") + part;
  }
  return out;
}

std::string render_speed(const std::string& label, const std::string& agent_host, long duration_ms,
                         long rtt_count, const sonde::json& paths, const std::string& summary) {
  std::string out;
  appendf(out, "speed %s (agent on %s): %s per test, %ld round trips\n",
          terminal_safe(label).c_str(), terminal_safe(agent_host).c_str(),
          terminal_safe(fmt::format("{:g} s", duration_ms / 1000.0)).c_str(), rtt_count);
  appendf(out, "%-7s %-9s %-26s %10s %12s  %s\n", "path", "direction", "address", "Gbit/s",
          "retransmits", "rtt min / median / p90 / max (ms)");
  for (const auto& p : paths) {
    std::string path = p.value("path", ""), dir = p.value("direction", "");
    std::string st = p.value("status", "");
    if (st == "n/a") {
      appendf(out, "%-7s %-9s n/a (%s)\n", path.c_str(), "-",
              terminal_safe(p.value("reason", "")).c_str());
      continue;
    }
    std::string addr = p.value("address", "");
    if (path == "ssh") addr = "channel to " + p.value("agent_listen", "");
    if (st != "ok") {
      appendf(out, "%-7s %-9s %-26s failed: %s\n", path.c_str(), dir.c_str(),
              terminal_safe(addr).c_str(), terminal_safe(p.value("reason", "")).c_str());
      if (p.contains("hint"))
        appendf(out, "%-7s %-9s %-26s hint: %s\n", "", "", "",
                terminal_safe(p.value("hint", "")).c_str());
      continue;
    }
    std::string retr = p.contains("retransmits") && p["retransmits"].is_number()
                           ? std::to_string(p["retransmits"].get<long>())
                           : std::string("-");
    std::string rtt = "-";
    const json r = p.value("rtt", json::object());
    if (r.value("count", 0) > 0)
      rtt = fmt::format("{} / {} / {} / {}", ms(r.value("min_us", 0.0)),
                        ms(r.value("median_us", 0.0)), ms(r.value("p90_us", 0.0)),
                        ms(r.value("max_us", 0.0)));
    appendf(out, "%-7s %-9s %-26s %10.3f %12s  %s\n", path.c_str(), dir.c_str(),
            terminal_safe(addr).c_str(), p.value("gbps", 0.0), retr.c_str(), rtt.c_str());
    if (p.contains("tcp_info") && p["tcp_info"].is_object()) {
      const json& t = p["tcp_info"];
      appendf(out, "%-7s %-9s %-26s tcp (%s): srtt %s ms, rttvar %s ms, cwnd %u, mss %u, pmtu %u\n",
              "", "", "", terminal_safe(p.value("tcp_info_from", "")).c_str(),
              ms(t.value("rtt_us", 0.0)).c_str(), ms(t.value("rttvar_us", 0.0)).c_str(),
              t.value("snd_cwnd", 0u), t.value("snd_mss", 0u), t.value("pmtu", 0u));
    }
    for (const auto& n : p.value("notes", json::array()))
      appendf(out, "%-7s %-9s %-26s note: %s\n", "", "", "",
              terminal_safe(n.get<std::string>()).c_str());
  }
  appendf(out, "summary: %s\n", terminal_safe(summary).c_str());
  return out;
}

std::string render_speed_interval(const std::string& label, const net::SpeedInterval& iv) {
  std::string retr = iv.retransmits >= 0 ? fmt::format("  retr {}", iv.retransmits) : "";
  std::string out;
  appendf(out, "  [%s] %6.2f-%6.2f s  %9s  %8.3f Gbit/s%s\n", label.c_str(), iv.start_s, iv.end_s,
          human_bytes(iv.bytes).c_str(), iv.gbps, retr.c_str());
  return out;
}

}  // namespace sonde::render
