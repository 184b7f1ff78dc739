#include "sonde/render/ps.h"

#include <time.h>

#include <fmt/format.h>

#include "sonde/common/io.h"
#include "sonde/render/table.h"

namespace sonde::render {

std::string render_ps_text(const sonde::json& result, int term_width) {
  Table t({{"PID", Align::kRight},
           {"USER"},
           {"%CPU", Align::kRight},
           {"%MEM", Align::kRight},
           {"RSS", Align::kRight},
           {"THR", Align::kRight},
           {"S"},
           {"START"},
           {"COMMAND"}});
  long long now = static_cast<long long>(::time(nullptr));
  const auto procs =
      result.is_object() ? result.value("processes", sonde::json::array()) : sonde::json::array();
  for (const auto& p : procs) {
    double rss_kb = field_number(p, "rss_kb");
    t.add_row({field_text(p, "pid", "?"), field_text(p, "user", "?"),
               fmt::format("{:.1f}", field_number(p, "cpu_pct")),
               fmt::format("{:.1f}", field_number(p, "mem_pct")),
               human_bytes(static_cast<unsigned long long>(rss_kb) * 1024ULL),
               field_text(p, "threads", "?"), field_text(p, "state", "?"),
               format_start(static_cast<long long>(field_number(p, "start_time")), now),
               field_text(p, "cmdline", field_text(p, "comm"))});
  }
  std::string out = t.render(term_width);
  std::string source = field_text(result, "cpu_source");
  std::string cpu =
      source == "lifetime"
          ? std::string("%CPU is the lifetime average")
          : fmt::format("%CPU over {} ms ({})", field_text(result, "interval_ms", "?"), source);
  out += wrap_note(fmt::format("{} of {} processes; {}", field_text(result, "shown", "?"),
                               field_text(result, "total", "?"), cpu),
                   term_width);
  // What the agent left out to keep the answer bounded, said where it shows.
  if (long more = static_cast<long>(field_number(result, "more")); more > 0)
    out += wrap_note(fmt::format("… {} more process{} not shown: the list is capped in size; "
                                 "narrow it with --user, --name or --limit",
                                 more, more == 1 ? "" : "es"),
                     term_width);
  if (long cut = static_cast<long>(field_number(result, "cmdlines_cut")); cut > 0)
    out += wrap_note(fmt::format("{} command line{} cut after their first 4 KiB (\"… (N more "
                                 "bytes)\"); `sonde inspect -p PID` shows one whole",
                                 cut, cut == 1 ? "" : "s"),
                     term_width);
  return out;
}

}  // namespace sonde::render
