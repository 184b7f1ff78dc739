#include "sonde/render/ps.h"

#include <algorithm>

#include <time.h>

#include <fmt/format.h>

#include "sonde/common/io.h"
#include "sonde/render/fleet.h"
#include "sonde/render/table.h"

namespace sonde::render {

namespace {

// The process table; with hosts, a HOST column first (a fleet run).
std::string ps_table(const std::vector<std::pair<std::string, const proc::PsRow*>>& rows,
                     bool with_host, int term_width) {
  std::vector<Column> cols = {{"PID", Align::kRight},
                              {"USER"},
                              {"%CPU", Align::kRight},
                              {"%MEM", Align::kRight},
                              {"RSS", Align::kRight},
                              {"THR", Align::kRight},
                              {"S"},
                              {"START"},
                              {"COMMAND"}};
  if (with_host) cols.insert(cols.begin(), Column{"HOST"});
  Table t(std::move(cols));
  long long now = static_cast<long long>(::time(nullptr));
  for (const auto& [host, pp] : rows) {
    const proc::PsRow& p = *pp;
    std::vector<std::string> cells = {std::to_string(p.pid),
                                      p.user,
                                      fmt::format("{:.1f}", p.cpu_pct),
                                      fmt::format("{:.1f}", p.mem_pct),
                                      human_bytes(p.rss_kb * 1024ULL),
                                      std::to_string(p.threads),
                                      std::string(1, p.state),
                                      format_start(p.start_time, now),
                                      p.cmdline.empty() ? p.comm : p.cmdline};
    if (with_host) cells.insert(cells.begin(), host);
    t.add_row(std::move(cells));
  }
  return t.render(term_width);
}

}  // namespace

std::string render_ps_text(const proc::PsResult& result, int term_width) {
  std::vector<std::pair<std::string, const proc::PsRow*>> rows;
  for (const auto& p : result.processes) rows.emplace_back("", &p);
  std::string out = ps_table(rows, false, term_width);
  const std::string& source = result.cpu_source;
  std::string cpu = source == "lifetime"
                        ? std::string("%CPU is the lifetime average")
                        : fmt::format("%CPU over {} ms ({})", result.interval_ms, source);
  out +=
      wrap_note(fmt::format("{} of {} processes; {}", result.shown, result.total, cpu), term_width);
  if (uint64_t own = result.sonde_hidden; own > 0)
    out += wrap_note(fmt::format("{} of sonde's own process{} left out (--include-sonde keeps "
                                 "{})",
                                 own, own == 1 ? "" : "es", own == 1 ? "it" : "them"),
                     term_width);
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

std::string render_ps_fleet(const std::vector<std::pair<std::string, proc::PsResult>>& hosts,
                            const std::string& sort, int term_width) {
  std::vector<std::pair<std::string, const proc::PsRow*>> rows;
  uint64_t total = 0, shown = 0, more = 0, cut = 0, own = 0;
  for (const auto& [host, r] : hosts) {
    for (const auto& p : r.processes) rows.emplace_back(host, &p);
    total += r.total;
    shown += r.shown;
    more += r.more;
    cut += r.cmdlines_cut;
    own += r.sonde_hidden;
  }
  // One order across hosts, as the agent sorts one host's: the busiest (or
  // biggest) first; ties and pid sort by host then pid.
  std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
    const proc::PsRow& x = *a.second;
    const proc::PsRow& y = *b.second;
    if (sort == "cpu" && x.cpu_pct != y.cpu_pct) return x.cpu_pct > y.cpu_pct;
    if (sort == "mem" && x.rss_kb != y.rss_kb) return x.rss_kb > y.rss_kb;
    if (a.first != b.first) return a.first < b.first;
    return x.pid < y.pid;
  });
  std::string out = ps_table(rows, true, term_width);
  out += wrap_note(fmt::format("{} of {} processes on {} host{}", shown, total, hosts.size(),
                               hosts.size() == 1 ? "" : "s"),
                   term_width);
  if (more > 0)
    out += wrap_note(fmt::format("… {} more process{} not shown: each host's list is capped in "
                                 "size; narrow it with --user, --name or --limit",
                                 more, more == 1 ? "" : "es"),
                     term_width);
  if (cut > 0)
    out += wrap_note(
        fmt::format("{} command line{} cut after their first 4 KiB", cut, cut == 1 ? "" : "s"),
        term_width);
  if (own > 0)
    out += wrap_note(fmt::format("{} of sonde's own process{} left out (--include-sonde keeps "
                                 "{})",
                                 own, own == 1 ? "" : "es", own == 1 ? "it" : "them"),
                     term_width);
  return out;
}

}  // namespace sonde::render
