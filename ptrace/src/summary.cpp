#include <algorithm>

#include "tracer_internal.h"

namespace sonde::ptrace {
namespace {

// Sorted by time, then calls, like strace -c.
json counters_json(const Counters& m) {
  std::vector<std::pair<long, Counter>> v(m.begin(), m.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second.time_ns != b.second.time_ns ? a.second.time_ns > b.second.time_ns
                                                : a.second.calls > b.second.calls;
  });
  json arr = json::array();
  for (const auto& [nr, c] : v) {
    arr.push_back({{"name", syscall_label(nr)},
                   {"nr", nr},
                   {"calls", c.calls},
                   {"errors", c.errors},
                   {"time_ns", c.time_ns}});
  }
  return arr;
}

json total_json(const Counters& m) {
  Counter t;
  for (const auto& [nr, c] : m) {
    t.calls += c.calls;
    t.errors += c.errors;
    t.time_ns += c.time_ns;
  }
  return {{"calls", t.calls}, {"errors", t.errors}, {"time_ns", t.time_ns}};
}

}  // namespace

void summarize(const std::map<pid_t, Counters>& counts, json& out) {
  Counters all;
  json per = json::array();
  for (const auto& [tgid, m] : counts) {
    for (const auto& [nr, c] : m) {
      Counter& a = all[nr];
      a.calls += c.calls;
      a.errors += c.errors;
      a.time_ns += c.time_ns;
    }
    per.push_back({{"pid", tgid}, {"syscalls", counters_json(m)}, {"total", total_json(m)}});
  }
  out["syscalls"] = counters_json(all);
  out["total"] = total_json(all);
  out["per_process"] = per;
}

}  // namespace sonde::ptrace
