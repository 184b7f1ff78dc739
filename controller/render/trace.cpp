#include "sonde/render/trace.h"

#include <time.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>

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
    std::string s = leader(ev) + syscall_label(ev) + "(" + field_text(ev, "args_text") + ")";
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
    auto dur = o_.durations ? json_int<long long>(ev, "dur_ns") : std::nullopt;
    if (dur) {
      long long d = std::max(0LL, *dur);
      s += fmt::format(" <{}.{:06}>", d / 1000000000LL, (d % 1000000000LL) / 1000);
    }
    return s + "\n";
  }
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

std::string render_trace_summary(const ptrace::TraceResult& summary) {
  std::string out = render_trace_table(summary.syscalls, summary.total);
  if (summary.per_process.size() < 2) return out;
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

}  // namespace sonde::render
