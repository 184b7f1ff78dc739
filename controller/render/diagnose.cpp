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

std::string render_diagnose_matrix(const std::vector<net::DiagnoseSide>& sides) {
  std::vector<MatrixRow> rows;
  for (const auto& side : sides) {
    const net::Layer* first_bad = nullptr;
    std::string ladder;
    for (const auto& l : side.layers) {
      const std::string& st = l.status;
      if (!first_bad && st == "fail") first_bad = &l;
      ladder += (ladder.empty() ? "" : " ") + l.layer + ":" +
                (st == "ok"     ? "ok"
                 : st == "fail" ? "FAIL"
                 : st == "warn" ? "warn"
                                : "-");
    }
    if (!first_bad)
      for (const auto& l : side.layers)
        if (l.status == "warn") {
          first_bad = &l;
          break;
        }
    std::string v = !first_bad                   ? "ok"
                    : first_bad->verdict.empty() ? first_bad->layer + " " + first_bad->status
                                                 : first_bad->verdict;
    rows.push_back(
        {side.label,
         v,
         v + "|" + (first_bad ? first_bad->layer : ""),
         {first_bad ? first_bad->layer : "-", ladder, first_bad ? first_bad->text : ""}});
  }
  return render_side_matrix({{"AT"}, {"LADDER"}, {"EVIDENCE"}}, std::move(rows));
}

std::string render_verdict(const net::Verdict& v) {
  return "\nverdict: " + terminal_safe(v.text) + "\n" + render_list("evidence", v.evidence) +
         render_list("next", v.next);
}

}  // namespace sonde::render
