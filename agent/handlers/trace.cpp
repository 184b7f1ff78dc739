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
#include "sonde/ptrace/trace_contract.h"
#include "sonde/ptrace/tracer.h"

namespace sonde::agent {
namespace {

constexpr size_t kQueueMaxEvents = 4096;
constexpr size_t kQueueMaxBytes = 4u << 20;
constexpr size_t kBatchEvents = 256;
constexpr auto kBatchInterval = std::chrono::milliseconds(100);

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

Result<ptrace::TraceOptions> parse_args(const json& args) {
  auto a = ptrace::trace_args_from_json(args);
  if (!a) return a.error();
  if (auto st = ptrace::validate(*a); !st) return st.error();
  ptrace::TraceOptions o;
  if (!a->filter.empty()) {
    auto set = ptrace::parse_trace_filter(a->filter);
    if (!set) return set.error();
    o.syscalls = std::move(*set);
  }
  o.attach_pids = std::move(a->pids);
  o.launch_argv = std::move(a->argv);
  o.follow_forks = a->follow_forks;
  o.failed_only = a->failed_only;
  o.summary_only = a->summary_only;
  o.decode.string_limit = static_cast<size_t>(a->string_limit);
  o.decode.annotate_fds = a->annotate_fds;
  o.duration_ms = a->duration_ms;
  o.use_seccomp = a->seccomp;
  o.colocate = a->colocate;
  o.decode.structured = a->structured;
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
    auto sum = ptrace::trace_result_from_json(*r);
    if (!sum) return sum.error();
    ptrace::cap_trace_result(*sum);
    sum->events_lost = queue.lost();
    sum->cancelled = ctx.cancel.cancelled();
    return ptrace::to_json(*sum);
  };
}

}  // namespace sonde::agent
