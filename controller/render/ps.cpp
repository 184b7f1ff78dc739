#include "sonde/render/ps.h"

#include <time.h>

#include <fmt/format.h>

#include "sonde/common/io.h"
#include "sonde/render/table.h"

namespace sonde::render {

std::string render_ps_text(const proc::PsResult& result, int term_width) {
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
  for (const auto& p : result.processes)
    t.add_row({std::to_string(p.pid), p.user, fmt::format("{:.1f}", p.cpu_pct),
               fmt::format("{:.1f}", p.mem_pct), human_bytes(p.rss_kb * 1024ULL),
               std::to_string(p.threads), std::string(1, p.state), format_start(p.start_time, now),
               p.cmdline.empty() ? p.comm : p.cmdline});
  std::string out = t.render(term_width);
  const std::string& source = result.cpu_source;
  std::string cpu = source == "lifetime"
                        ? std::string("%CPU is the lifetime average")
                        : fmt::format("%CPU over {} ms ({})", result.interval_ms, source);
  out +=
      wrap_note(fmt::format("{} of {} processes; {}", result.shown, result.total, cpu), term_width);
  // What the agent left out to keep the answer bounded, said where it shows.
  if (uint64_t more = result.more; more > 0)
    out += wrap_note(fmt::format("… {} more process{} not shown: the list is capped in size; "
                                 "narrow it with --user, --name or --limit",
                                 more, more == 1 ? "" : "es"),
                     term_width);
  if (uint64_t cut = result.cmdlines_cut; cut > 0)
    out += wrap_note(fmt::format("{} command line{} cut after their first 4 KiB (\"… (N more "
                                 "bytes)\"); `sonde inspect -p PID` shows one whole",
                                 cut, cut == 1 ? "" : "s"),
                     term_width);
  return out;
}

}  // namespace sonde::render
