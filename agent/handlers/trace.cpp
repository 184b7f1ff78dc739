// `trace`: strace-style syscall tracing (sonde::ptrace). In live mode the
// tracer's events are plain structs in a preallocated ring (event_ring.h);
// a sender thread turns them into JSON and frames in batches of 256. When
// the link is slower than the target we drop and count, because the tracer
// thread holds the tracee in a ptrace stop while it writes an event and must
// never wait for the network.
#include <thread>

#include "../handler.h"
#include "sonde/ptrace/trace_contract.h"
#include "sonde/ptrace/tracer.h"

namespace sonde::agent {
namespace {

constexpr size_t kRingEvents = 4096;  // a power of two
constexpr size_t kRingMaxBytes = 4u << 20;
constexpr size_t kBatchEvents = 256;

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
    auto sum = ptrace::trace_result_from_json(*r);
    if (!sum) return sum.error();
    ptrace::cap_trace_result(*sum);
    sum->events_lost = ring.lost();
    sum->cancelled = ctx.cancel.cancelled();
    return ptrace::to_json(*sum);
  };
}

}  // namespace sonde::agent
