#include "sonde/render/diagnose.h"

#include "sonde/render/printf.h"
#include "sonde/render/sides.h"
#include "sonde/render/table.h"

namespace sonde::render {

std::string render_diagnose_side(const std::string& label, const std::string& host,
                                 const sonde::json& layers) {
  std::string out;
  appendf(out, "== %s%s ==\n", terminal_safe(label).c_str(),
          host.empty() ? "" : (" (host " + terminal_safe(host) + ")").c_str());
  for (const auto& l : layers) {
    std::string st = l.value("status", "");
    const char* mark = st == "ok" ? "ok" : st == "fail" ? "FAIL" : st == "warn" ? "warn" : "-";
    appendf(out, "  %-8s %-5s %s\n", terminal_safe(l.value("layer", "")).c_str(), mark,
            terminal_safe(l.value("text", "")).c_str());
  }
  return out;
}

std::string render_verdict(const net::Verdict& v) {
  return "\nverdict: " + terminal_safe(v.text) + "\n" + render_list("evidence", v.evidence) +
         render_list("next", v.next);
}

}  // namespace sonde::render
