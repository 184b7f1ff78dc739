#include "sonde/render/trace.h"

#include <time.h>

#include <algorithm>
#include <map>
#include <optional>
#include <queue>
#include <vector>

#include <fmt/format.h>

#include "sonde/render/fleet.h"
#include "sonde/render/json_access.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

// strace puts " = " at column 40 when the call is shorter, so return values
// line up in a column.
constexpr size_t kReturnColumn = 40;

long long int_field(const json& obj, const char* key, long long fallback = 0) {
  return json_int<long long>(obj, key).value_or(fallback);
}

std::string syscall_label(const json& ev) {
  std::string name = field_text(ev, "name");
  if (!name.empty()) return terminal_safe(name);
  return fmt::format("syscall_{}", int_field(ev, "nr", -1));
}

// What a resumed line adds to the arguments its unfinished line showed:
// the arguments after the last one both texts show the same. Arguments
// are split at top-level ", " only: not inside a struct, an array or a
// string.
std::string resumed_rest(const std::string& shown, const std::string& full) {
  size_t same = 0;
  while (same < shown.size() && same < full.size() && shown[same] == full[same]) ++same;
  if (same == shown.size() && same == full.size()) return {};
  size_t cut = std::string::npos;  // where the first differing argument starts
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i + 1 < same; ++i) {
    char c = full[i];
    if (quoted) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '{' || c == '[' || c == '(') {
      ++depth;
    } else if (c == '}' || c == ']' || c == ')') {
      --depth;
    } else if (c == ',' && full[i + 1] == ' ' && depth == 0) {
      cut = i + 2;
    }
  }
  return cut == std::string::npos ? full : full.substr(cut);
}

}  // namespace

std::string format_trace_time(long long ts_ns, int level) {
  if (level <= 0) return {};
  long long sec = ts_ns / 1000000000LL;
  long long usec = (ts_ns % 1000000000LL) / 1000;
  if (ts_ns < 0) {
    sec = 0;
    usec = 0;
  }
  if (level >= 3) return fmt::format("{}.{:06}", sec, usec);
  time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  localtime_r(&t, &tm);
  std::string s = fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (level == 2) s += fmt::format(".{:06}", usec);
  return s;
}

std::string TraceLinePrinter::leader(const json& ev) {
  std::string s;
  long long pid = int_field(ev, "pid", 0);
  pids_.insert(pid);
  if (o_.always_pid || pids_.size() > 1) s += fmt::format("[pid {:>5}] ", pid);
  if (o_.timestamps > 0)
    if (auto ts = json_int<long long>(ev, "ts_ns"))
      s += format_trace_time(*ts, o_.timestamps) + " ";
  return s;
}

std::string TraceLinePrinter::line(const json& ev) {
  if (!ev.is_object()) return {};
  std::string type = field_text(ev, "type");
  if (type == "syscall") {
    long long pid = int_field(ev, "pid", 0);
    if (json_bool(ev, "unfinished")) {
      // strace's line for a call that has not returned yet.
      std::string args = field_text(ev, "args_text");
      std::string s = leader(ev) + syscall_label(ev) + "(" + args + (args.empty() ? "" : " ") +
                      "<unfinished ...>\n";
      unfinished_[pid] = {int_field(ev, "nr", -1), std::move(args)};
      return s;
    }
    std::string s = leader(ev);
    if (json_bool(ev, "resumed")) {
      auto it = unfinished_.find(pid);
      // Its own unfinished line: the same thread and call.
      bool own = it != unfinished_.end() && it->second.first == int_field(ev, "nr", -1);
      std::string args = field_text(ev, "args_text");
      s += "<... " + syscall_label(ev) + " resumed>" +
           (own ? resumed_rest(it->second.second, args) : args) + ")";
      if (it != unfinished_.end()) unfinished_.erase(it);
    } else {
      s += syscall_label(ev) + "(" + field_text(ev, "args_text") + ")";
    }
    if (s.size() < kReturnColumn)
      s.append(kReturnColumn - s.size(), ' ');
    else
      s += ' ';
    std::string ret = field_text(ev, "ret_text");
    if (ret.empty()) {
      auto n = json_int<long long>(ev, "ret");
      ret = n ? std::to_string(*n) : "?";
    }
    s += "= " + ret;
    // strace marks what it changed the same way.
    if (json_bool(ev, "injected")) s += " (INJECTED)";
    auto dur = o_.durations ? json_int<long long>(ev, "dur_ns") : std::nullopt;
    if (dur) {
      long long d = std::max(0LL, *dur);
      s += fmt::format(" <{}.{:06}>", d / 1000000000LL, (d % 1000000000LL) / 1000);
    }
    return s + "\n";
  }
  if (type == "attached" && int_field(ev, "tids", 0) > 1) o_.always_pid = true;
  if (type == "signal")
    return leader(ev) + "--- " + terminal_safe(field_text(ev, "sig", "?")) + " ---\n";
  if (type == "exit") {
    ++exits_;
    return leader(ev) + fmt::format("+++ exited with {} +++\n", int_field(ev, "code"));
  }
  if (type == "killed") {
    ++exits_;
    bool core = json_bool(ev, "core");
    return leader(ev) + "+++ killed by " + terminal_safe(field_text(ev, "sig", "?")) +
           (core ? " (core dumped)" : "") + " +++\n";
  }
  return {};
}

std::string render_trace_table(const std::vector<ptrace::SyscallCount>& syscalls,
                               const ptrace::SyscallTotal& total) {
  struct Row {
    std::string name;
    uint64_t calls, errors, time_ns;
  };
  std::vector<Row> rows;
  rows.reserve(syscalls.size());
  for (const auto& s : syscalls)
    rows.push_back({s.name.empty() ? fmt::format("syscall_{}", s.nr) : terminal_safe(s.name),
                    s.calls, s.errors, s.time_ns});
  // The tracer sends them sorted; keep its order for ties (strace: table order).
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.time_ns > b.time_ns; });

  // Same layout as strace -c: "%6.2f %11.6f %11lu %9u %9.u %s" (a zero error
  // count prints blank).
  auto row = [](const Row& r, double pct) {
    uint64_t usecs = r.calls > 0 ? r.time_ns / 1000 / r.calls : 0;
    std::string errors = r.errors > 0 ? std::to_string(r.errors) : "";
    return fmt::format("{:6.2f} {:11.6f} {:11} {:9} {:>9} {}\n", pct,
                       static_cast<double>(r.time_ns) / 1e9, usecs, r.calls, errors, r.name);
  };
  const std::string dashes =
      "------ ----------- ----------- --------- --------- ----------------\n";
  std::string out = fmt::format("{:>6} {:>11} {:>11} {:>9} {:>9} {}\n", "% time", "seconds",
                                "usecs/call", "calls", "errors", "syscall");
  out += dashes;
  for (const auto& r : rows)
    out += row(r, total.time_ns > 0
                      ? 100.0 * static_cast<double>(r.time_ns) / static_cast<double>(total.time_ns)
                      : 0.0);
  out += dashes;
  out += row({"total", total.calls, total.errors, total.time_ns}, 100.0);
  return out;
}

std::string render_trace_summary(const ptrace::TraceResult& summary, bool per_process) {
  std::string out = render_trace_table(summary.syscalls, summary.total);
  if (!per_process || summary.per_process.size() < 2) return out;
  for (const auto& p : summary.per_process) {
    out += fmt::format("\npid {}:\n", p.pid);
    out += render_trace_table(p.syscalls, p.total);
  }
  if (uint64_t more = summary.per_process_more; more > 0)
    out += fmt::format(
        "\n… {} more process{} not shown (the busiest are); the table at the top counts them "
        "all\n",
        more, more == 1 ? "" : "es");
  return out;
}

namespace {

// One syscall summed over a fleet: the totals and each host's share.
struct FleetSyscall {
  std::string name;
  uint64_t calls = 0, errors = 0, time_ns = 0;
  std::vector<std::pair<size_t, const ptrace::SyscallCount*>> per_host;  // (host index, counts)
};

// The median of the time each host that made the call spent in it.
uint64_t median_time(const FleetSyscall& f) {
  std::vector<uint64_t> t;
  t.reserve(f.per_host.size());
  for (const auto& [h, c] : f.per_host) t.push_back(c->time_ns);
  std::sort(t.begin(), t.end());
  if (t.empty()) return 0;
  const size_t m = t.size() / 2;
  return t.size() % 2 ? t[m] : (t[m - 1] + t[m]) / 2;
}

constexpr uint64_t kOutlierFactor = 3;
constexpr size_t kOutlierMinHosts = 3;
// Microseconds apart are noise (a first call that faults its pages in):
// an outlier is also this much over the median.
constexpr uint64_t kOutlierMinExcessNs = 1'000'000;

}  // namespace

std::string render_trace_fleet(
    const std::vector<std::pair<std::string, ptrace::TraceResult>>& hosts, size_t total_hosts,
    bool by_host, int term_width) {
  std::vector<FleetSyscall> rows;
  std::map<std::string, size_t> index;
  ptrace::SyscallTotal total;
  for (size_t h = 0; h < hosts.size(); ++h) {
    const auto& r = hosts[h].second;
    total.calls += r.total.calls;
    total.errors += r.total.errors;
    total.time_ns += r.total.time_ns;
    for (const auto& sc : r.syscalls) {
      std::string name =
          sc.name.empty() ? fmt::format("syscall_{}", sc.nr) : terminal_safe(sc.name);
      auto [it, fresh] = index.emplace(name, rows.size());
      if (fresh) rows.push_back({name, 0, 0, 0, {}});
      FleetSyscall& f = rows[it->second];
      f.calls += sc.calls;
      f.errors += sc.errors;
      f.time_ns += sc.time_ns;
      f.per_host.emplace_back(h, &sc);
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const FleetSyscall& a, const FleetSyscall& b) {
    return a.time_ns > b.time_ns;
  });
  auto pct = [&](uint64_t t) {
    return total.time_ns > 0 ? 100.0 * static_cast<double>(t) / static_cast<double>(total.time_ns)
                             : 0.0;
  };
  auto host_name = [&](size_t h) { return terminal_safe(hosts[h].first); };

  if (by_host) {
    std::vector<Column> cols = {
        {"syscall", Align::kLeft}, {"calls", Align::kRight}, {"errors", Align::kRight}};
    for (const auto& [name, r] : hosts) cols.push_back({terminal_safe(name), Align::kRight});
    Table t(std::move(cols));
    for (const auto& f : rows) {
      std::vector<std::string> cells = {f.name, std::to_string(f.calls),
                                        f.errors ? std::to_string(f.errors) : ""};
      std::vector<std::string> per(hosts.size(), "-");
      for (const auto& [h, c] : f.per_host)
        per[h] = std::to_string(c->calls) + (c->errors ? fmt::format(" ({}E)", c->errors) : "");
      cells.insert(cells.end(), per.begin(), per.end());
      t.add_row(std::move(cells));
    }
    std::vector<std::string> last = {"total", std::to_string(total.calls),
                                     total.errors ? std::to_string(total.errors) : ""};
    for (const auto& [name, r] : hosts) last.push_back(std::to_string(r.total.calls));
    t.add_row(std::move(last));
    return t.render(term_width) +
           fmt::format("calls per host; (NE): N of them failed; -: no call\n");
  }

  Table t({{"% time", Align::kRight},
           {"seconds", Align::kRight},
           {"usecs/call", Align::kRight},
           {"calls", Align::kRight},
           {"errors", Align::kRight},
           {"hosts", Align::kRight},
           {"worst host", Align::kLeft},
           {"syscall", Align::kLeft}});
  std::vector<std::string> outliers;
  for (const auto& f : rows) {
    const ptrace::SyscallCount* worst = nullptr;
    size_t worst_host = 0;
    for (const auto& [h, c] : f.per_host) {
      if (worst && c->time_ns <= worst->time_ns) continue;
      worst = c;
      worst_host = h;
    }
    std::string worst_cell;
    if (worst) {
      const uint64_t median = median_time(f);
      const bool outlier = f.per_host.size() >= kOutlierMinHosts &&
                           worst->time_ns > kOutlierFactor * median &&
                           worst->time_ns - median >= kOutlierMinExcessNs;
      worst_cell = fmt::format(
          "{} {:.0f}%{}", host_name(worst_host),
          f.time_ns ? 100.0 * static_cast<double>(worst->time_ns) / static_cast<double>(f.time_ns)
                    : 0.0,
          outlier ? " !" : "");
      if (outlier)
        outliers.push_back(fmt::format("{}: {} took {:.6f} s in {} calls, the median host {:.6f} s",
                                       host_name(worst_host), f.name,
                                       static_cast<double>(worst->time_ns) / 1e9, worst->calls,
                                       static_cast<double>(median) / 1e9));
    }
    const uint64_t usecs = f.calls > 0 ? f.time_ns / 1000 / f.calls : 0;
    t.add_row({fmt::format("{:.2f}", pct(f.time_ns)),
               fmt::format("{:.6f}", static_cast<double>(f.time_ns) / 1e9), std::to_string(usecs),
               std::to_string(f.calls), f.errors ? std::to_string(f.errors) : "",
               fmt::format("{}/{}", f.per_host.size(), total_hosts), worst_cell, f.name});
  }
  const uint64_t usecs = total.calls > 0 ? total.time_ns / 1000 / total.calls : 0;
  t.add_row({"100.00", fmt::format("{:.6f}", static_cast<double>(total.time_ns) / 1e9),
             std::to_string(usecs), std::to_string(total.calls),
             total.errors ? std::to_string(total.errors) : "",
             fmt::format("{}/{}", hosts.size(), total_hosts), "", "total"});
  std::string out = t.render(term_width);
  if (!outliers.empty()) {
    out += fmt::format("outliers (`!`: over {}x the median host and 1 ms more):\n", kOutlierFactor);
    for (const auto& o : outliers) out += "  " + o + "\n";
  }
  return out;
}

std::string render_trace_fleet_events(const std::vector<HostEvents>& hosts,
                                      const TraceLineOptions& o, const HostFolder& fold) {
  // Each host's own lines first: hosts that printed the same are one group.
  std::vector<std::string> own(hosts.size());
  for (size_t i = 0; i < hosts.size(); ++i) {
    TraceLinePrinter p(o);
    for (const auto& ev : hosts[i].events) own[i] += p.line(ev);
  }
  bool same = true;
  for (size_t i = 1; i < hosts.size() && same; ++i) same = own[i] == own[0];
  if (same) {
    std::vector<std::string> names;
    for (const auto& h : hosts) names.push_back(h.host);
    return hosts.empty() ? std::string() : render_host_group(fold(names), hosts.size(), own[0]);
  }

  // One stream: a k-way merge (a min-heap of each host's next event) by time
  // on this machine's clock, so every host's own order stays as it was.
  struct Cursor {
    size_t next = 0;
    int64_t last_ns = 0;  // events without a time take the one before
    TraceLinePrinter printer;
  };
  auto ts_of = [](const json& ev) -> std::optional<int64_t> {
    if (auto it = ev.find("ts_ns"); it != ev.end() && it->is_number_integer())
      return it->get<int64_t>();
    return std::nullopt;
  };
  std::vector<Cursor> cur;
  for (const auto& h : hosts) {
    Cursor c{0, 0, TraceLinePrinter(o)};
    // Lines before the first stamped one take its time, not 1970.
    for (const auto& ev : h.events)
      if (auto t = ts_of(ev)) {
        c.last_ns = *t;
        break;
      }
    cur.push_back(std::move(c));
  }
  std::vector<ClockInterval> at(hosts.size());
  auto advance = [&](size_t i) {  // at[i]: host i's next event, on our clock
    if (auto t = ts_of(hosts[i].events[cur[i].next])) cur[i].last_ns = *t;
    int64_t ns = cur[i].last_ns;
    at[i] = hosts[i].clock ? on_controller_clock(ns, *hosts[i].clock) : ClockInterval{ns, ns};
  };
  using Head = std::pair<int64_t, size_t>;  // (mid time, host): earliest, then first listed
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads;
  size_t width = 4;
  bool own_clock = false;
  std::string clocks;
  for (size_t i = 0; i < hosts.size(); ++i) {
    const auto& h = hosts[i];
    width = std::max(width, h.host.size());
    own_clock |= !h.clock;
    clocks += fmt::format("{}{} {}", clocks.empty() ? "" : ", ", terminal_safe(h.host),
                          h.clock ? clock_text(*h.clock) : std::string("(own clock)"));
    if (h.events.empty()) continue;
    advance(i);
    heads.push({at[i].mid_ns(), i});
  }
  std::string out = fmt::format(
      "{} hosts in one stream, in time order on this machine's clock{} (~: not known to come "
      "after the line above: their +/- intervals overlap)\nclocks: {}\n",
      hosts.size(), own_clock ? " (hosts without a measured offset on their own)" : "", clocks);
  std::optional<ClockInterval> prev;
  size_t prev_host = SIZE_MAX;
  while (!heads.empty()) {
    const size_t i = heads.top().second;
    heads.pop();
    const ClockInterval when = at[i];
    json ev = hosts[i].events[cur[i].next];
    if (++cur[i].next < hosts[i].events.size()) {
      advance(i);
      heads.push({at[i].mid_ns(), i});
    }
    // The time shown is on this machine's clock.
    if (ev.contains("ts_ns")) ev["ts_ns"] = when.mid_ns();
    std::string line = cur[i].printer.line(ev);
    if (line.empty()) continue;
    const bool unknown = prev && prev_host != i && order_events(*prev, when) == 0;
    out += fmt::format("{} {:<{}}  {}", unknown ? "~" : " ", terminal_safe(hosts[i].host), width,
                       line);
    prev = when;
    prev_host = i;
  }
  return out;
}

}  // namespace sonde::render
