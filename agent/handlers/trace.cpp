// `trace`: strace-style syscall tracing (sonde::ptrace). In live mode the
// tracer's events cross a bounded queue to a sender thread that ships them in
// batches; when the link is slower than the target we drop and count, because
// the tracer thread holds the tracee in a ptrace stop while it hands us an
// event and must never wait for the network.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "../handler.h"
#include "sonde/ptrace/tracer.h"

namespace sonde::agent {
namespace {

constexpr size_t kQueueMaxEvents = 4096;
constexpr size_t kQueueMaxBytes = 4u << 20;
constexpr size_t kBatchEvents = 256;
constexpr auto kBatchInterval = std::chrono::milliseconds(100);
constexpr long kMaxStringLimit = 1 << 20;
constexpr long kMaxDurationMs = 7L * 24 * 3600 * 1000;

// What an event will weigh on the wire, cheaply: its strings plus a constant
// for the numbers and keys. Serialising it here would cost the tracer thread
// (and so the stopped tracee) more than the whole rest of the event.
size_t approx_size(const json& ev) {
  size_t n = 96;
  if (!ev.is_object()) return n;
  for (const auto& [k, v] : ev.items()) {
    n += k.size();
    if (v.is_string()) n += v.get_ref<const std::string&>().size();
  }
  // Decoded args repeat args_text in structured form; count it once more.
  if (auto it = ev.find("args_text"); it != ev.end() && it->is_string())
    n += it->get_ref<const std::string&>().size();
  return n;
}

// Producer: the tracer thread (push never blocks for long: one short lock).
// Consumer: the sender thread, which does the slow part (encoding, writing).
class EventQueue {
 public:
  void push(json&& ev) {
    size_t sz = approx_size(ev);
    bool wake = false;
    {
      std::lock_guard<std::mutex> g(mu_);
      if (q_.size() >= kQueueMaxEvents || bytes_ + sz > kQueueMaxBytes) {
        ++lost_;
        return;
      }
      q_.push_back({std::move(ev), sz});
      bytes_ += sz;
      wake = q_.size() == kBatchEvents;
    }
    if (wake) cv_.notify_one();
  }

  void close() {
    {
      std::lock_guard<std::mutex> g(mu_);
      closed_ = true;
    }
    cv_.notify_one();
  }

  // Waits until a batch is full, the interval passed or the queue closed,
  // then takes up to one batch. Returns false once closed and drained.
  bool take(std::vector<json>& out) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, kBatchInterval, [&] { return closed_ || q_.size() >= kBatchEvents; });
    size_t n = std::min(q_.size(), kBatchEvents);
    for (size_t i = 0; i < n; ++i) {
      bytes_ -= q_.front().bytes;
      out.push_back(std::move(q_.front().ev));
      q_.pop_front();
    }
    return !(closed_ && q_.empty() && out.empty());
  }

  uint64_t lost() const {
    std::lock_guard<std::mutex> g(mu_);
    return lost_;
  }

 private:
  struct Item {
    json ev;
    size_t bytes;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> q_;
  size_t bytes_ = 0;
  uint64_t lost_ = 0;
  bool closed_ = false;
};

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

    EventQueue queue;
    std::thread sender([&] {
      std::vector<json> batch;
      while (queue.take(batch)) {
        if (batch.empty()) continue;
        json msg = {{"events", json(std::move(batch))}};
        batch.clear();
        ctx.emit(msg);
      }
    });
    ptrace::EventSink sink = [&](json&& ev) { queue.push(std::move(ev)); };

    // On cancel the tracer detaches and returns what it counted; we ship what
    // is still queued and answer with a normal result, so Ctrl-C still shows
    // the summary. Only a tracer that returns an error makes this an error.
    Result<json> r = ptrace::trace(*opts, ctx.cancel, sink);
    queue.close();
    sender.join();
    if (!r) return r.error();
    json out = std::move(*r);
    cap_summary(out);
    out["events_lost"] = queue.lost();
    if (ctx.cancel.cancelled()) out["cancelled"] = true;
    return out;
  };
}

}  // namespace sonde::agent
