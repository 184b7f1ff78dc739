#include "sonde/render/hello.h"
#include "sonde/render/fleet.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "sonde/render/table.h"

namespace sonde::render {
namespace {

std::string yes_no(bool v) {
  return v ? "yes" : "no";
}

// What the agent could not tell shows as "-".
std::string or_dash(const std::optional<std::string>& v) {
  return v ? *v : "-";
}

std::string or_dash(const std::optional<long>& v) {
  return v ? std::to_string(*v) : "-";
}

}  // namespace

std::string render_hello(const Capabilities& c, const std::string& transport,
                         const std::optional<ClockOffset>& clock) {
  const HelloFacts& h = c.facts;
  const PtraceFacts& p = h.ptrace;
  const PerfEventFacts& pe = h.perf_event;
  std::string yama = p.yama_ptrace_scope
                         ? "Yama ptrace_scope " + std::to_string(*p.yama_ptrace_scope)
                         : "no Yama LSM";
  std::string out;
  out += fmt::format("host        {} ({}, {})\n", or_dash(h.hostname), or_dash(h.kernel),
                     or_dash(h.arch));
  out += fmt::format("transport   {}\n", transport);
  out += fmt::format("agent       {}, protocol {}, pid {}\n", h.agent_version, h.protocol, h.pid);
  out += fmt::format("user        uid {} euid {} gid {} egid {}\n", h.uid, h.euid, h.gid, h.egid);
  out += fmt::format("ptrace      {} ({}; {})\n", yes_no(p.allowed), yama,
                     p.why.empty() ? "-" : p.why);
  out +=
      fmt::format("perf_event  {} (perf_event_paranoid {}{})\n", yes_no(pe.allowed.value_or(false)),
                  or_dash(pe.paranoid), pe.why ? "; " + terminal_safe(*pe.why) : "");
  out += fmt::format("capture     {} (CAP_NET_RAW)\n", yes_no(h.cap_net_raw));
  out += fmt::format("jdk tools   java {}, jcmd {}, jfr {}\n", or_dash(c.jdk_tools.java),
                     or_dash(c.jdk_tools.jcmd), or_dash(c.jdk_tools.jfr));
  out += fmt::format("gdbserver   {}\n", or_dash(c.gdbserver));
  if (clock) {
    out += fmt::format("clock       {} against this machine (best of {} pings)\n",
                       clock_text(*clock), clock->exchanges);
    if (std::llabs(clock->offset_ns) > kClockWarnNs)
      out += fmt::format(
          "warning     this host's clock is {:.0f} ms off; merged times are put on this "
          "machine's clock\n",
          std::abs(static_cast<double>(clock->offset_ns)) / 1e6);
  }
  return out;
}

std::string render_hello_fleet(const std::vector<HelloRow>& rows, int term_width) {
  Table t({{"HOST"},
           {"AGENT"},
           {"KERNEL"},
           {"UID", Align::kRight},
           {"PTRACE"},
           {"PERF"},
           {"CAPTURE"},
           {"JDK"},
           {"GDBSERVER"},
           {"CLOCK"}});
  std::vector<std::string> skewed;
  for (const auto& r : rows) {
    const HelloFacts& h = r.caps.facts;
    std::string clock = r.clock ? clock_text(*r.clock) : "-";
    if (r.clock && std::llabs(r.clock->offset_ns) > kClockWarnNs) skewed.push_back(r.host);
    t.add_row({r.host, h.agent_version, or_dash(h.kernel), std::to_string(h.euid),
               yes_no(h.ptrace.allowed), yes_no(h.perf_event.allowed.value_or(false)),
               yes_no(h.cap_net_raw), r.caps.jdk_tools.jcmd ? "jcmd" : "-",
               r.caps.gdbserver ? "yes" : "-", clock});
  }
  std::string out = t.render(term_width);
  if (!skewed.empty()) {
    std::string names;
    for (const auto& n : skewed) names += (names.empty() ? "" : ", ") + n;
    out += wrap_note(fmt::format("warning: {} host{} over {} ms off this machine's clock: {}; "
                                 "merged times are put on this machine's clock",
                                 skewed.size(), skewed.size() == 1 ? " is" : "s are",
                                 kClockWarnNs / 1000000, names),
                     term_width);
  }
  return out;
}

std::string render_host_group(const std::string& hosts, size_t count, const std::string& text) {
  std::string out = count > 1 ? fmt::format("== {} ({} hosts) ==\n", hosts, count)
                              : fmt::format("== {} ==\n", hosts);
  out += text;
  if (!text.empty() && text.back() != '\n') out += '\n';
  return out;
}

}  // namespace sonde::render
