#include "sonde/render/diagnose.h"

#include "sonde/render/printf.h"
#include "sonde/render/sides.h"
#include "sonde/render/table.h"

namespace sonde::render {

std::string render_diagnose_side(const net::DiagnoseSide& side) {
  std::string out;
  appendf(out, "== %s%s ==\n", terminal_safe(side.label).c_str(),
          side.host.empty() ? "" : (" (host " + terminal_safe(side.host) + ")").c_str());
  for (const auto& l : side.layers) {
    const std::string& st = l.status;
    const char* mark = st == "ok" ? "ok" : st == "fail" ? "FAIL" : st == "warn" ? "warn" : "-";
    appendf(out, "  %-8s %-5s %s\n", terminal_safe(l.layer).c_str(), mark,
            terminal_safe(l.text).c_str());
  }
  return out;
}

std::string render_verdict(const net::Verdict& v) {
  return "\nverdict: " + terminal_safe(v.text) + "\n" + render_list("evidence", v.evidence) +
         render_list("next", v.next);
}

}  // namespace sonde::render
