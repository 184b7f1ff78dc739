#include "sonde/render/speed.h"

#include "sonde/common/io.h"
#include "sonde/render/printf.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

std::string ms(double us) {
  return fmt::format("{:.3f}", us / 1000.0);
}

// Gbit/s down to 1, then Mbit/s: a slow link's rate keeps its digits.
std::string rate(double gbps) {
  return gbps >= 1 ? fmt::format("{:.2f} Gbit/s", gbps) : fmt::format("{:.1f} Mbit/s", gbps * 1e3);
}

// One end's bulk figures: "2.8G sent, 23.10 Gbit/s".
std::string bulk_text(const net::SpeedProgress& p) {
  const char* verb = p.sender ? "sent" : "received";
  if (p.seconds <= 0) return fmt::format("{} {}", human_bytes(p.bytes), verb);
  return fmt::format("{} {}, {}", human_bytes(p.bytes), verb, rate(p.gbps));
}

}  // namespace

std::string render_speed_progress(const SpeedLive& l) {
  std::string out = "sonde: " + l.label + ": ";
  if (!l.mine) return out + terminal_safe(l.step);
  const net::SpeedProgress& m = *l.mine;
  switch (m.phase) {
    case net::SpeedPhase::kRoundTrips:
      if (m.round_trips == 0) return out + fmt::format("timing {} round trips", l.rtt_count);
      return out + fmt::format("round trips {}/{}", m.round_trips, l.rtt_count);
    case net::SpeedPhase::kTrailer:
      return out + fmt::format("{} {} in {:.1f} s; waiting for the receiver's count",
                               human_bytes(m.bytes), m.sender ? "sent" : "received", m.seconds);
    case net::SpeedPhase::kBulk:
      break;
  }
  if (m.seconds <= 0 && m.bytes == 0)
    out += fmt::format("{} for {:g} s", m.sender ? "sending" : "receiving", l.duration_ms / 1000.0);
  else
    out += fmt::format("{:.0f} s of {:g} s, {}", m.seconds, l.duration_ms / 1000.0, bulk_text(m));
  if (l.agent && l.agent->phase != net::SpeedPhase::kRoundTrips && l.agent->bytes > 0)
    out += fmt::format("; agent at {:.0f} s: {}", l.agent->seconds, bulk_text(*l.agent));
  return out;
}

std::string render_speed_done(const net::SpeedPath& p) {
  std::string label =
      p.path + (p.direction ? std::string(" ") + net::direction_name(*p.direction) : std::string());
  if (p.status == "ok")
    return fmt::format("sonde: {}: {}, {} in {:.1f} s", label, rate(p.gbps), human_bytes(p.bytes),
                       p.seconds);
  if (p.status == "n/a") return fmt::format("sonde: {}: n/a ({})", label, terminal_safe(p.reason));
  return fmt::format("sonde: {}: failed: {}", label, terminal_safe(p.reason));
}

std::string render_speed(const net::SpeedReport& r) {
  std::string out;
  appendf(out, "speed %s (agent on %s): %s per test, %ld round trips\n",
          terminal_safe(r.target).c_str(), terminal_safe(r.agent_host).c_str(),
          terminal_safe(fmt::format("{:g} s", r.duration_ms / 1000.0)).c_str(), r.rtt_count);
  appendf(out, "%-7s %-9s %-26s %10s %12s  %s\n", "path", "direction", "address", "Gbit/s",
          "retransmits", "rtt min / median / p90 / max (ms)");
  for (const auto& p : r.paths) {
    const char* dir = p.direction ? net::direction_name(*p.direction) : "";
    if (p.status == "n/a") {
      appendf(out, "%-7s %-9s n/a (%s)\n", p.path.c_str(), "-", terminal_safe(p.reason).c_str());
      continue;
    }
    std::string addr = p.path == "ssh" ? "channel to " + p.agent_listen : p.address;
    if (p.status != "ok") {
      appendf(out, "%-7s %-9s %-26s failed: %s\n", p.path.c_str(), dir, terminal_safe(addr).c_str(),
              terminal_safe(p.reason).c_str());
      if (!p.hint.empty())
        appendf(out, "%-7s %-9s %-26s hint: %s\n", "", "", "", terminal_safe(p.hint).c_str());
      continue;
    }
    std::string retr = p.retransmits ? std::to_string(*p.retransmits) : std::string("-");
    std::string rtt = "-";
    if (p.rtt.count > 0)
      rtt = fmt::format("{} / {} / {} / {}", ms(p.rtt.min_us), ms(p.rtt.median_us),
                        ms(p.rtt.p90_us), ms(p.rtt.max_us));
    appendf(out, "%-7s %-9s %-26s %10.3f %12s  %s\n", p.path.c_str(), dir,
            terminal_safe(addr).c_str(), p.gbps, retr.c_str(), rtt.c_str());
    if (p.tcp_info.valid) {
      const net::TcpInfo& t = p.tcp_info;
      appendf(out, "%-7s %-9s %-26s tcp (%s): srtt %s ms, rttvar %s ms, cwnd %u, mss %u, pmtu %u\n",
              "", "", "", terminal_safe(p.tcp_info_from).c_str(), ms(t.rtt_us).c_str(),
              ms(t.rttvar_us).c_str(), t.snd_cwnd, t.snd_mss, t.pmtu);
    }
    for (const auto& n : p.notes)
      appendf(out, "%-7s %-9s %-26s note: %s\n", "", "", "", terminal_safe(n).c_str());
  }
  appendf(out, "summary: %s\n", terminal_safe(net::speed_summary(r)).c_str());
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
