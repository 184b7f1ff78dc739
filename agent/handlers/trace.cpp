// `trace`: strace-style syscall tracing (sonde::ptrace). In live mode the
// tracer's events are plain structs in a preallocated ring (event_ring.h);
// a sender thread turns them into JSON and frames in batches of 256. When
// the link is slower than the target we drop and count, because the tracer
// thread holds the tracee in a ptrace stop while it writes an event and must
// never wait for the network.
#include <thread>

#include "../handler.h"
#include "sonde/ptrace/tracer.h"

namespace sonde::agent {
namespace {

constexpr size_t kRingEvents = 4096;  // a power of two
constexpr size_t kRingMaxBytes = 4u << 20;
constexpr size_t kBatchEvents = 256;
constexpr long kMaxStringLimit = 1 << 20;
constexpr long kMaxDurationMs = 7L * 24 * 3600 * 1000;

// trace -f over a build or a fork-per-request server sees thousands of
// processes, each with its own syscall table: the summary keeps the busiest
// ones (by syscall time) and counts the rest; the all-process table above
// them still counts every call.
constexpr size_t kMaxPerProcess = 1000;
constexpr size_t kPerProcessBudgetBytes = 4u << 20;
constexpr size_t kMaxNotes = 200;

void cap_summary(json& out) {
  if (auto it = out.find("per_process"); it != out.end() && it->is_array()) {
    json& per = *it;
    auto time_of = [](const json& p) -> int64_t {
      const json* t = p.contains("total") ? &p["total"] : nullptr;
      return t && t->is_object() ? t->value("time_ns", int64_t{0}) : 0;
    };
    std::vector<json> all(std::make_move_iterator(per.begin()), std::make_move_iterator(per.end()));
    std::stable_sort(all.begin(), all.end(),
                     [&](const json& a, const json& b) { return time_of(a) > time_of(b); });
    json kept = json::array();
    size_t used = 0, more = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      size_t sz = wire_size_bound(all[i]);
      if (i >= kMaxPerProcess || used + sz > kPerProcessBudgetBytes) {
        more = all.size() - i;
        break;
      }
      used += sz;
      kept.push_back(std::move(all[i]));
    }
    per = std::move(kept);
    out["per_process_more"] = more;
  }
  if (auto it = out.find("notes"); it != out.end() && it->is_array() && it->size() > kMaxNotes) {
    size_t more = it->size() - kMaxNotes;
    it->erase(it->begin() + static_cast<std::ptrdiff_t>(kMaxNotes), it->end());
    it->push_back(fmt::format("… {} more notes", more));
  }
}

Error bad(std::string msg, std::string hint = {}) {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

Result<std::vector<int>> arg_pids(const json& args) {
  std::vector<int> pids;
  auto it = args.find("pids");
  if (it == args.end() || it->is_null()) return pids;
  if (!it->is_array()) return bad("argument `pids` must be an array of integers");
  for (const auto& p : *it) {
    if (!p.is_number_integer()) return bad("argument `pids` must be an array of integers");
    long long v = p.get<long long>();
    if (v <= 0 || v > INT32_MAX) return bad(fmt::format("`{}` is not a process id", v));
    pids.push_back(static_cast<int>(v));
  }
  return pids;
}

Result<std::vector<std::string>> arg_argv(const json& args) {
  std::vector<std::string> argv;
  auto it = args.find("argv");
  if (it == args.end() || it->is_null()) return argv;
  if (!it->is_array()) return bad("argument `argv` must be an array of strings");
  for (const auto& a : *it) {
    if (!a.is_string()) return bad("argument `argv` must be an array of strings");
    argv.push_back(a.get<std::string>());
  }
  if (!argv.empty() && argv[0].empty()) return bad("the command to launch is empty");
  return argv;
}

Result<ptrace::TraceOptions> parse_args(const json& args) {
  ptrace::TraceOptions o;
  auto pids = arg_pids(args);
  if (!pids) return pids.error();
  auto argv = arg_argv(args);
  if (!argv) return argv.error();
  auto follow = arg_bool(args, "follow_forks", false);
  auto filter = arg_string(args, "filter", "");
  auto failed = arg_bool(args, "failed_only", false);
  auto summary = arg_bool(args, "summary_only", false);
  auto slimit = arg_int(args, "string_limit", 32);
  auto annotate = arg_bool(args, "annotate_fds", false);
  auto duration = arg_int(args, "duration_ms", 0);
  auto seccomp = arg_bool(args, "seccomp", true);
  auto colocate = arg_bool(args, "colocate", false);
  if (!colocate) return colocate.error();
  auto structured = arg_bool(args, "structured", true);
  if (!structured) return structured.error();
  for (const Error* e :
       {follow.ok() ? nullptr : &follow.error(), filter.ok() ? nullptr : &filter.error(),
        failed.ok() ? nullptr : &failed.error(), summary.ok() ? nullptr : &summary.error(),
        slimit.ok() ? nullptr : &slimit.error(), annotate.ok() ? nullptr : &annotate.error(),
        duration.ok() ? nullptr : &duration.error(), seccomp.ok() ? nullptr : &seccomp.error()})
    if (e) return *e;

  if (pids->empty() == argv->empty())
    return bad("give either `pids` (attach) or `argv` (launch), not both or neither",
               "sonde trace TARGET -p PID, or sonde trace TARGET -- CMD ARGS");
  if (*slimit < 0 || *slimit > kMaxStringLimit)
    return bad(fmt::format("string_limit must be between 0 and {}", kMaxStringLimit));
  if (*duration < 0 || *duration > kMaxDurationMs)
    return bad("duration_ms must be between 0 (until cancelled) and 7 days");
  if (!filter->empty()) {
    auto set = ptrace::parse_trace_filter(*filter);
    if (!set) return set.error();
    o.syscalls = std::move(*set);
  }
  o.attach_pids = std::move(*pids);
  o.launch_argv = std::move(*argv);
  o.follow_forks = *follow;
  o.failed_only = *failed;
  o.summary_only = *summary;
  o.decode.string_limit = static_cast<size_t>(*slimit);
  o.decode.annotate_fds = *annotate;
  o.duration_ms = *duration;
  o.use_seccomp = *seccomp;
  o.colocate = *colocate;
  o.decode.structured = *structured;
  return o;
}

}  // namespace

void register_trace(Registry& reg) {
  reg["trace"] = [](RequestContext& ctx) -> Result<json> {
    auto opts = parse_args(ctx.args);
    if (!opts) return opts.error();

    json progress = {{"phase", "starting"},
                     {"mode", opts->launch_argv.empty() ? "attach" : "launch"},
                     {"summary_only", opts->summary_only}};
    if (!opts->attach_pids.empty()) progress["pids"] = opts->attach_pids;
    ctx.emit(progress);

    ptrace::EventRing ring(kRingEvents, kRingMaxBytes, kBatchEvents);
    std::thread sender([&] {
      json batch = json::array();
      auto add = [&](ptrace::TraceEvent& ev) { batch.push_back(ptrace::to_json(ev)); };
      while (ring.take(add)) {
        if (batch.empty()) continue;
        json msg = {{"events", std::move(batch)}};
        batch = json::array();
        ctx.emit(msg);
      }
    });

    // On cancel the tracer detaches and returns what it counted; we ship what
    // is still queued and answer with a normal result, so Ctrl-C still shows
    // the summary. Only a tracer that returns an error makes this an error.
    Result<json> r = ptrace::trace(*opts, ctx.cancel, &ring);
    ring.close();
    sender.join();
    if (!r) return r.error();
    json out = std::move(*r);
    cap_summary(out);
    out["events_lost"] = ring.lost();
    if (ctx.cancel.cancelled()) out["cancelled"] = true;
    return out;
  };
}

}  // namespace sonde::agent
