#include "fleet/engine.h"

#include "sonde/common/json_text.h"

#include <stdio.h>
#include <sys/resource.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "cli/command.h"
#include "session.h"
#include "sonde/common/io.h"
#include "sonde/common/log.h"
#include "transport/transport.h"

namespace sonde::controller::fleet {

const char* failure_name(Failure f) {
  switch (f) {
    case Failure::kNone:
      return "";
    case Failure::kUnreachable:
      return "unreachable";
    case Failure::kAuth:
      return "auth";
    case Failure::kHostKey:
      return "host key";
    case Failure::kUpload:
      return "upload";
    case Failure::kPermission:
      return "permission";
    case Failure::kCommand:
      return "command error";
    case Failure::kTimeout:
      return "timeout";
    case Failure::kInterrupted:
      return "interrupted";
  }
  return "?";
}

Failure classify(const HostReport& r, bool deadline_passed) {
  if (!r.error) return r.exit_code == 0 ? Failure::kNone : Failure::kCommand;
  const std::string& c = r.error->code;
  if (c == errc::kConnect) return Failure::kUnreachable;
  if (c == errc::kAuth) return Failure::kAuth;
  if (c == errc::kHostKey) return Failure::kHostKey;
  if (c == errc::kPermission) return Failure::kPermission;
  if (c == errc::kTimeout) return Failure::kTimeout;
  if (c == errc::kCancelled) return deadline_passed ? Failure::kTimeout : Failure::kInterrupted;
  // The agent failing before it answered its hello: not deployed or started.
  if ((c == errc::kAgent || c == errc::kIo) && !r.reached_agent) return Failure::kUpload;
  return Failure::kCommand;
}

namespace {

// A FILE* that collects into memory; freed by take().
class Capture {
 public:
  Capture() { f_ = ::open_memstream(&buf_, &len_); }
  ~Capture() { take(); }
  FILE* file() { return f_ ? f_ : stderr; }
  std::string take() {
    std::string s;
    if (f_) {
      std::fclose(f_);
      f_ = nullptr;
      if (buf_) s.assign(buf_, len_);
    }
    std::free(buf_);
    buf_ = nullptr;
    return s;
  }

 private:
  FILE* f_ = nullptr;
  char* buf_ = nullptr;
  size_t len_ = 0;
};

struct Counters {
  std::atomic<int> done{0}, failed{0}, running{0};
};

void show_progress(FILE* to, const Counters& c, size_t total, bool last) {
  std::fprintf(to, "\r%d/%zu done, %d failed, %d running\033[K%s", c.done.load(), total,
               c.failed.load(), c.running.load(), last ? "\n" : "");
  std::fflush(to);
}

}  // namespace

RunOutcome run_hosts(const std::vector<FleetTarget>& targets, const EngineOptions& opts,
                     const HostBody& body) {
  RunOutcome out;
  out.hosts.resize(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) out.hosts[i].target = targets[i];
  const long t0 = monotonic_ms();
  if (opts.deadline_ms > 0) set_run_deadline(t0 + opts.deadline_ms);

  std::atomic<size_t> next{0};
  Counters counters;
  auto worker = [&] {
    for (;;) {
      if (interrupted()) return;  // Ctrl-C or the deadline: start nothing new
      size_t i = next.fetch_add(1);
      if (i >= targets.size()) return;
      HostRun& h = out.hosts[i];
      h.started = true;
      h.started_ms = monotonic_ms() - t0;
      counters.running.fetch_add(1);
      Capture o, e;
      set_thread_stderr(e.file());
      HostReport rep;
      try {
        rep = body(h.target, o.file(), e.file());
      } catch (const std::exception& ex) {
        rep.exit_code = exit_code::kInternal;
        rep.error = Error{errc::kInternal, std::string("internal error: ") + ex.what(), {}};
      }
      set_thread_stderr(nullptr);
      // The stop came while it ran: whatever it printed is partial, even
      // when the command itself ends well on a cancel (trace, profile).
      const bool cut_short = interrupted();
      h.out = o.take();
      h.err = e.take();
      if (opts.json_output) {
        // Handed over as a value when the command printed one document and
        // nothing else; else parsed from the text.
        json doc;
        if (!rep.result.is_discarded() && h.out.empty()) {
          doc = std::move(rep.result);
        } else {
          if (!rep.result.is_discarded()) h.out += json_text(rep.result, 2) + "\n";
          doc = json::parse(h.out, nullptr, false);
        }
        rep.result = nullptr;
        if (!doc.is_discarded()) {
          h.result = PackedJson::pack(doc);
          std::string().swap(h.out);
        }
      }
      h.exit_code = rep.exit_code;
      h.error = rep.error;
      h.clock = rep.clock;
      h.ended_ms = monotonic_ms() - t0;
      const long deadline = opts.deadline_ms;
      h.failure = classify(rep, deadline > 0 && h.ended_ms >= deadline);
      if (cut_short && (h.failure == Failure::kNone || h.failure == Failure::kCommand)) {
        const bool by_signal = interrupted_by_signal();
        h.failure = by_signal ? Failure::kInterrupted : Failure::kTimeout;
        h.error = Error{by_signal ? errc::kCancelled : errc::kTimeout,
                        by_signal ? "cut short by Ctrl-C" : "cut short by --deadline",
                        {}};
      }
      h.finished = true;
      counters.running.fetch_sub(1);
      counters.done.fetch_add(1);
      if (h.failure != Failure::kNone) counters.failed.fetch_add(1);
    }
  };
  size_t n = std::min<size_t>(targets.size(), static_cast<size_t>(std::max(1, opts.fanout)));
  std::vector<std::thread> pool;
  pool.reserve(n);
  for (size_t k = 0; k < n; ++k) pool.emplace_back(worker);
  // The main thread shows progress while the workers run.
  if (opts.progress) {
    while (counters.done.load() < static_cast<int>(targets.size())) {
      show_progress(opts.progress, counters, targets.size(), false);
      if (interrupted() && counters.running.load() == 0) break;
      ::usleep(200 * 1000);
    }
  }
  for (auto& t : pool) t.join();
  if (opts.progress) show_progress(opts.progress, counters, targets.size(), true);
  out.wall_ms = monotonic_ms() - t0;
  out.interrupted = interrupted_by_signal();
  out.deadline_passed = opts.deadline_ms > 0 && out.wall_ms >= opts.deadline_ms;
  // Hosts that never started, or were cut short by the stop.
  for (auto& h : out.hosts) {
    if (h.finished) continue;
    h.failure = out.interrupted ? Failure::kInterrupted : Failure::kTimeout;
    h.error = Error{out.interrupted ? errc::kCancelled : errc::kTimeout,
                    out.interrupted ? "not started before Ctrl-C" : "not started before --deadline",
                    {}};
  }
  set_run_deadline(0);
  return out;
}

long raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur == RLIM_INFINITY ? -1 : static_cast<long>(rl.rlim_cur);
}

int fleet_exit_code(const RunOutcome& r) {
  size_t ok = 0;
  for (const auto& h : r.hosts) ok += h.ok() ? 1 : 0;
  if (r.interrupted) return 130;
  if (ok == r.hosts.size()) return 0;
  return ok == 0 ? kExitAllFailed : kExitSomeFailed;
}

}  // namespace sonde::controller::fleet
