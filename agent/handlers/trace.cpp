// `trace`: strace-style syscall tracing (sonde::ptrace). In live mode the
// tracer's events are plain structs in a preallocated ring (event_ring.h);
// a sender thread turns them into JSON and frames in batches of 256. When
// the link is slower than the target we drop and count, because the tracer
// thread holds the tracee in a ptrace stop while it writes an event and must
// never wait for the network.
#include <atomic>
#include <optional>
#include <thread>

#include "../handler.h"
#include "../syscall_records.h"
#include "sonde/common/clock.h"
#include "sonde/common/log.h"
#include "sonde/common/thread.h"
#include "sonde/proc/stat.h"
#include "sonde/ptrace/inject.h"
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
  for (const auto& text : a->inject) {
    bool fault = text.rfind("fault=", 0) == 0;
    auto rule = ptrace::parse_inject_rule(std::string_view(text).substr(fault ? 6 : 7), fault);
    if (!rule) return rule.error();
    o.inject.push_back(std::move(*rule));
  }
  o.inject_probability = a->probability;
  o.inject_limit = a->inject_count;
  o.inject_seed = a->seed;
  if (!o.inject.empty() && !a->force)
    for (int pid : o.attach_pids)
      if (auto st = proc::read_stat(fmt::format("/proc/{}/stat", pid));
          st && (st->flags & proc::kPfKthread))
        return Error{errc::kBadArgs,
                     fmt::format("refusing to inject faults into kernel thread {}", pid),
                     "kernel threads make no syscalls sonde can change; --force to try anyway"};
  return o;
}

std::string inject_what(const ptrace::TraceOptions& o) {
  std::string s;
  for (const auto& r : o.inject) s += (s.empty() ? "" : "; ") + ptrace::describe(r);
  return s;
}

std::string inject_scope(const ptrace::TraceOptions& o) {
  if (!o.launch_argv.empty()) return "a new process running " + o.launch_argv[0];
  std::string s;
  for (int pid : o.attach_pids) {
    auto st = proc::read_status(pid);
    s += fmt::format("{}process {} ({})", s.empty() ? "" : ", ", pid, st ? st->name : "?");
  }
  return s;
}

// --plan: the rules in words and the processes they would apply to.
Result<json> plan(const ptrace::TraceOptions& o) {
  ptrace::TraceResult r;
  r.mode = o.launch_argv.empty() ? "attach" : "launch";
  r.stopped = "plan";
  for (int pid : o.attach_pids) {
    auto st = proc::read_status(pid);
    if (!st)
      return Error{errc::kNotFound, fmt::format("no process {}", pid),
                   "list processes with `sonde ps TARGET`"};
    r.plan.push_back(fmt::format("process {} ({}), every thread{}", pid, st->name,
                                 o.follow_forks ? " and every child it starts" : ""));
  }
  if (!o.launch_argv.empty())
    r.plan.push_back(fmt::format("a new process running {}{}", o.launch_argv[0],
                                 o.follow_forks ? ", and every child it starts" : ""));
  for (const auto& rule : o.inject) r.plan.push_back(ptrace::describe(rule));
  if (o.inject_probability < 1.0)
    r.plan.push_back(fmt::format("each firing kept with probability {}", o.inject_probability));
  if (o.inject_limit) r.plan.push_back(fmt::format("at most {} faults in all", o.inject_limit));
  if (o.duration_ms) r.plan.push_back(fmt::format("for at most {} ms, then detach", o.duration_ms));
  r.plan.push_back("nothing was changed (--plan)");
  return ptrace::to_json(r);
}

}  // namespace

void register_trace(Registry& reg) {
  reg["trace"] = [](RequestContext& ctx) -> Result<json> {
    auto opts = parse_args(ctx.args);
    if (!opts) return opts.error();
    if (ctx.args.value("plan", false)) return plan(*opts);

    json progress = {{"phase", "starting"},
                     {"mode", opts->launch_argv.empty() ? "attach" : "launch"},
                     {"summary_only", opts->summary_only}};
    if (!opts->attach_pids.empty()) progress["pids"] = opts->attach_pids;
    ctx.emit(progress);

    ptrace::EventRing ring(kRingEvents, kRingMaxBytes, kBatchEvents);
    auto started = start_thread("the trace's sender thread", [&] {
      json batch = json::array();
      auto add = [&](ptrace::TraceEvent& ev) { batch.push_back(ptrace::to_json(ev)); };
      while (ring.take(add)) {
        if (batch.empty()) continue;
        json msg = {{"events", std::move(batch)}};
        batch = json::array();
        ctx.emit(msg);
      }
    });
    if (!started) return started.error();
    std::thread sender = std::move(*started);

    // An injection is on the host's notice board while it runs (--list),
    // and ends when `--clear` takes it off.
    std::optional<SyscallRecord> record;
    std::atomic<bool> cleared{false};
    CancelToken run_over;
    std::thread watch_record;
    // Ends the helper threads; on every way out, an exception from the tracer
    // included (a joinable thread destroyed would abort the agent).
    auto stop_helpers = [&] {
      run_over.cancel();
      if (watch_record.joinable()) watch_record.join();
      record.reset();
      ring.close();
      sender.join();
    };
    if (!opts->inject.empty()) {
      auto rec =
          SyscallRecord::write(inject_what(*opts), inject_scope(*opts),
                               opts->duration_ms ? realtime_ns() + opts->duration_ms * 1000000 : 0);
      if (rec) {
        record.emplace(std::move(*rec));
        auto watcher = start_thread("the injection's --clear watcher", [&] {
          while (run_over.sleep_for(200))
            if (!record->still_there()) {
              cleared = true;
              ctx.cancel.cancel();
              return;
            }
        });
        if (!watcher) {
          stop_helpers();
          return watcher.error();
        }
        watch_record = std::move(*watcher);
      } else {
        spdlog::info("inject: {}", rec.error().message);
      }
    }

    // On cancel the tracer detaches and returns what it counted; we ship what
    // is still queued and answer with a normal result, so Ctrl-C still shows
    // the summary. Only a tracer that returns an error makes this an error.
    Result<json> r = Error{};
    try {
      r = ptrace::trace(*opts, ctx.cancel, &ring);
    } catch (...) {
      stop_helpers();  // the server turns it into an internal error
      throw;
    }
    stop_helpers();
    if (!r) return r.error();
    auto sum = ptrace::trace_result_from_json(*r);
    if (!sum) return sum.error();
    ptrace::cap_trace_result(*sum);
    sum->events_lost = ring.lost();
    sum->cancelled = ctx.cancel.cancelled() && !cleared;
    if (cleared) sum->stopped = "cleared";
    return ptrace::to_json(*sum);
  };
}

}  // namespace sonde::agent
