#include "sonde/ptrace/trace_contract.h"

#include <algorithm>
#include <climits>

#include "sonde/common/json_read.h"

namespace sonde::ptrace {
namespace {

// trace -f over a build or a fork-per-request server sees thousands of
// processes, each with its own syscall table.
constexpr size_t kMaxPerProcess = 1000;
constexpr size_t kPerProcessBudgetBytes = 4u << 20;
constexpr size_t kMaxNotes = 200;

Error bad(std::string msg, std::string hint = "sonde help trace") {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

json counts_json(const std::vector<SyscallCount>& v) {
  json a = json::array();
  for (const auto& c : v)
    a.push_back({{"name", c.name},
                 {"nr", c.nr},
                 {"calls", c.calls},
                 {"errors", c.errors},
                 {"time_ns", c.time_ns}});
  return a;
}

json total_json(const SyscallTotal& t) {
  return {{"calls", t.calls}, {"errors", t.errors}, {"time_ns", t.time_ns}};
}

json process_json(const ProcessCounts& p) {
  return {{"pid", p.pid}, {"syscalls", counts_json(p.syscalls)}, {"total", total_json(p.total)}};
}

void read_counts(JsonReader& r, const json& o, const JsonPath& at, std::vector<SyscallCount>& out) {
  const json* a = r.array(o, "syscalls", at);
  if (!a) return;
  out.reserve(a->size());
  for (size_t i = 0; i < a->size() && !r.failed(); ++i) {
    const json& cj = (*a)[i];
    JsonPath w = (at / "syscalls")[i];
    if (!r.object(cj, w)) return;
    SyscallCount c;
    r.string(cj, "name", w, c.name);
    r.integer(cj, "nr", w, c.nr);
    r.integer(cj, "calls", w, c.calls);
    r.integer(cj, "errors", w, c.errors);
    r.integer(cj, "time_ns", w, c.time_ns);
    out.push_back(std::move(c));
  }
}

void read_total(JsonReader& r, const json& o, const JsonPath& at, SyscallTotal& t) {
  const json* tj = r.map(o, "total", at);
  if (!tj) return;
  r.integer(*tj, "calls", at / "total", t.calls);
  r.integer(*tj, "errors", at / "total", t.errors);
  r.integer(*tj, "time_ns", at / "total", t.time_ns);
}

}  // namespace

json to_json(const TraceArgs& a) {
  json j = {{"follow_forks", a.follow_forks}, {"failed_only", a.failed_only},
            {"summary_only", a.summary_only}, {"string_limit", a.string_limit},
            {"annotate_fds", a.annotate_fds}, {"duration_ms", a.duration_ms},
            {"seccomp", a.seccomp},           {"colocate", a.colocate},
            {"structured", a.structured}};
  if (!a.pids.empty()) j["pids"] = a.pids;
  if (!a.argv.empty()) j["argv"] = a.argv;
  if (!a.filter.empty()) j["filter"] = a.filter;
  if (!a.inject.empty()) {
    j["inject"] = a.inject;
    j["probability"] = a.probability;
    j["inject_count"] = a.inject_count;
    j["seed"] = a.seed;
    j["force"] = a.force;
    j["plan"] = a.plan;
  }
  return j;
}

Result<TraceArgs> trace_args_from_json(const json& j) {
  auto r = JsonReader::args("trace");
  TraceArgs a;
  if (!r.object(j, {})) return r.error();
  r.integers(j, "pids", {}, a.pids);
  r.strings(j, "argv", {}, a.argv);
  r.boolean(j, "follow_forks", {}, a.follow_forks);
  r.string(j, "filter", {}, a.filter);
  r.boolean(j, "failed_only", {}, a.failed_only);
  r.boolean(j, "summary_only", {}, a.summary_only);
  r.integer(j, "string_limit", {}, a.string_limit);
  r.boolean(j, "annotate_fds", {}, a.annotate_fds);
  r.integer(j, "duration_ms", {}, a.duration_ms);
  r.boolean(j, "seccomp", {}, a.seccomp);
  r.boolean(j, "colocate", {}, a.colocate);
  r.boolean(j, "structured", {}, a.structured);
  r.strings(j, "inject", {}, a.inject);
  r.number(j, "probability", {}, a.probability);
  r.integer(j, "inject_count", {}, a.inject_count);
  r.integer(j, "seed", {}, a.seed);
  r.boolean(j, "force", {}, a.force);
  r.boolean(j, "plan", {}, a.plan);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const TraceArgs& a) {
  if (a.pids.empty() == a.argv.empty())
    return bad(a.pids.empty() ? "nothing to trace: give -p PID or -- CMD ARGS"
                              : "give either -p PID or -- CMD ARGS, not both",
               "sonde trace TARGET -p PID, or sonde trace TARGET -- CMD ARGS");
  for (int p : a.pids)
    if (p <= 0)
      return bad(fmt::format("-p {} is not a process id", p), "sonde ps TARGET lists them");
  if (!a.argv.empty() && a.argv[0].empty()) return bad("the command to launch is empty");
  if (a.string_limit < 0 || a.string_limit > kMaxStringLimit)
    return bad(fmt::format("-s {} is out of range", a.string_limit),
               fmt::format("give 0..{} bytes", kMaxStringLimit));
  if (a.duration_ms < 0 || a.duration_ms > kMaxTraceDurationMs)
    return bad("--duration must be at most 7 days", "e.g. --duration 10s; none: until Ctrl-C");
  if (a.inject.empty()) {
    if (a.plan || a.inject_count || a.probability != 1.0)
      return bad("--plan, --count and --probability go with inject rules",
                 "sonde inject TARGET -p PID -e inject=SET:error=ERRNO");
    return ok_status();
  }
  for (const auto& rule : a.inject)
    if (rule.rfind("inject=", 0) != 0 && rule.rfind("fault=", 0) != 0)
      return bad(fmt::format("`{}` is not an inject rule", rule),
                 "-e inject=SET:error=ERRNO[:when=EXPR], as strace spells it");
  if (!(a.probability > 0.0 && a.probability <= 1.0))
    return bad(fmt::format("--probability {} is out of range", a.probability),
               "a chance in (0, 1], e.g. --probability 0.1");
  // An attached process is changed while we are there: time-boxed.
  if (!a.pids.empty() && !a.force && a.duration_ms > kMaxInjectDurationMs)
    return bad("--duration is at most 10 minutes when injecting into a running process",
               "give a shorter --duration, or --force to go past it");
  if (!a.force)
    for (int p : a.pids)
      if (p == 1)
        return bad("refusing to inject faults into PID 1 (init)",
                   "a failing init can take the host down; add --force if you mean it");
  return ok_status();
}

json to_json(const TraceResult& r) {
  json per = json::array();
  for (const auto& p : r.per_process) per.push_back(process_json(p));
  json j = {{"mode", r.mode},
            {"duration_ms", r.duration_ms},
            {"syscalls", counts_json(r.syscalls)},
            {"total", total_json(r.total)},
            {"per_process", std::move(per)},
            {"per_process_more", r.per_process_more},
            {"seccomp", r.seccomp},
            {"stopped", r.stopped},
            {"notes", r.notes},
            {"events_lost", r.events_lost}};
  if (r.exit_code) j["exit_code"] = *r.exit_code;
  if (!r.killed_by.empty()) j["killed_by"] = r.killed_by;
  if (r.cancelled) j["cancelled"] = true;
  if (r.injecting || !r.injected.empty()) {
    json inj = json::array();
    for (const auto& i : r.injected)
      inj.push_back({{"name", i.name},
                     {"nr", i.nr},
                     {"count", i.count},
                     {"first_ns", i.first_ns},
                     {"last_ns", i.last_ns}});
    j["injected"] = std::move(inj);
    j["injected_total"] = r.injected_total;
  }
  if (!r.plan.empty()) j["plan"] = r.plan;
  return j;
}

Result<TraceResult> trace_result_from_json(const json& j) {
  auto r = JsonReader::reply("trace");
  TraceResult t;
  if (!r.object(j, {})) return r.error();
  r.string(j, "mode", {}, t.mode);
  r.integer(j, "duration_ms", {}, t.duration_ms);
  read_counts(r, j, {}, t.syscalls);
  read_total(r, j, {}, t.total);
  if (const json* per = r.array(j, "per_process", {})) {
    t.per_process.reserve(per->size());
    for (size_t i = 0; i < per->size() && !r.failed(); ++i) {
      const json& pj = (*per)[i];
      JsonPath w = (JsonPath{} / "per_process")[i];
      if (!r.object(pj, w)) break;
      ProcessCounts p;
      r.integer(pj, "pid", w, p.pid);
      read_counts(r, pj, w, p.syscalls);
      read_total(r, pj, w, p.total);
      t.per_process.push_back(std::move(p));
    }
  }
  r.integer(j, "per_process_more", {}, t.per_process_more);
  r.boolean(j, "seccomp", {}, t.seccomp);
  r.string(j, "stopped", {}, t.stopped);
  r.integer(j, "exit_code", {}, t.exit_code);
  r.string(j, "killed_by", {}, t.killed_by);
  r.strings(j, "notes", {}, t.notes);
  r.integer(j, "events_lost", {}, t.events_lost);
  r.boolean(j, "cancelled", {}, t.cancelled);
  if (j.contains("injected")) {
    t.injecting = true;
    if (const json* inj = r.array(j, "injected", {})) {
      for (size_t i = 0; i < inj->size() && !r.failed(); ++i) {
        const json& ij = (*inj)[i];
        JsonPath w = (JsonPath{} / "injected")[i];
        if (!r.object(ij, w)) break;
        TraceResult::Injected x;
        r.string(ij, "name", w, x.name);
        r.integer(ij, "nr", w, x.nr);
        r.integer(ij, "count", w, x.count);
        r.integer(ij, "first_ns", w, x.first_ns);
        r.integer(ij, "last_ns", w, x.last_ns);
        t.injected.push_back(std::move(x));
      }
    }
  }
  r.integer(j, "injected_total", {}, t.injected_total);
  r.strings(j, "plan", {}, t.plan);
  if (r.failed()) return r.error();
  return t;
}

void cap_trace_result(TraceResult& r) {
  auto& per = r.per_process;
  std::stable_sort(per.begin(), per.end(), [](const ProcessCounts& a, const ProcessCounts& b) {
    return a.total.time_ns > b.total.time_ns;
  });
  ListBudget budget(kPerProcessBudgetBytes);
  size_t kept = 0;
  for (; kept < per.size(); ++kept)
    if (kept >= kMaxPerProcess || !budget.take(wire_size_bound(process_json(per[kept])))) break;
  r.per_process_more += per.size() - kept;
  per.resize(kept);
  if (r.notes.size() > kMaxNotes) {
    size_t more = r.notes.size() - kMaxNotes;
    r.notes.resize(kMaxNotes);
    r.notes.push_back(fmt::format("… {} more notes", more));
  }
}

}  // namespace sonde::ptrace
