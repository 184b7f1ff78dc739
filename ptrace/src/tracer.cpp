#include "sonde/ptrace/tracer.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "sonde/common/signals.h"
#include "sonde/common/thread.h"
#include "tracer_internal.h"

namespace sonde::ptrace {
namespace {

void on_kick(int) {}

}  // namespace

Tracer::Tracer(const TraceOptions& o, CancelToken& c, EventRing* events)
    : opts_(o), cancel_(c), events_(events), colocate_(notes_, [this] {
        std::vector<std::pair<pid_t, pid_t>> v;
        for (const auto& [tid, t] : tasks_) v.emplace_back(tid, t.tgid);
        return v;
      }) {
  launch_ = !opts_.launch_argv.empty();
  want_ = opts_.syscalls;
  if (!opts_.inject.empty()) {
    // The rules' syscalls are traced too; without -e trace=, only what
    // fired is shown.
    injected_only_ = want_.empty();
    if (want_.empty()) want_.assign(static_cast<size_t>(syscall_table_size()), false);
    for (const auto& r : opts_.inject)
      for (size_t nr = 0; nr < r.syscalls.size() && nr < want_.size(); ++nr)
        if (r.syscalls[nr]) want_[nr] = true;
    rng_.seed(opts_.inject_seed ? opts_.inject_seed : static_cast<uint64_t>(mono_ns()));
    // A launched command under the filter stops only at the rules' calls,
    // often microseconds apart: the tracer looks for the next stop for a
    // short while before it sleeps (colocated, tracer and tracee share a
    // CPU and spinning would only delay the tracee).
    if (launch_ && !opts_.colocate) spin_ns_ = 50000;
  }
  seccomp_ = launch_ && opts_.use_seccomp && !want_.empty();
  follow_ = opts_.follow_forks;  // a launch decides again once its filter is built
  mark_unfinished_ = events_ && !opts_.summary_only && !opts_.failed_only && !injected_only_;
}

Tracer::~Tracer() {
  if (timer_ok_) ::timer_delete(timer_);
}

Task& Tracer::task(pid_t tid, pid_t tgid, Attachment att) {
  auto it = tasks_.find(tid);
  if (it != tasks_.end()) return it->second;
  Task& t = tasks_[tid];
  if (tid == tgid) fds_.new_process(tgid);
  // Without one from seize(): a child the kernel attached for us.
  t.att = att.attached() ? std::move(att) : Attachment::adopt(tid);
  t.tid = tid;
  t.tgid = tgid;
  t.hidden = launch_ && !opts_.follow_forks && tgid != child_.pid();
  return t;
}

Result<json> Tracer::run() {
  if (launch_ && !opts_.attach_pids.empty())
    return Error{errc::kBadArgs, "trace either attaches (-p) or launches (-- CMD), not both", {}};
  if (!launch_ && opts_.attach_pids.empty())
    return Error{errc::kBadArgs, "nothing to trace", "pass -p PID or -- CMD ARGS"};

  struct sigaction sa = {};
  sa.sa_handler = on_kick;
  sigemptyset(&sa.sa_mask);
  ::sigaction(kick_signal(), &sa, nullptr);
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, kick_signal());
  ::pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);

  tracer_tid_ = static_cast<pid_t>(::gettid());
  int64_t t0 = mono_ns();
  if (opts_.colocate) colocate_.start();
  Status st = launch_ ? launch() : attach_all();
  if (!st.ok()) {
    detach_all();
    return st.error();
  }

  // The watcher wakes the loop when the duration is over or we are cancelled.
  pthread_t self = ::pthread_self();
  std::atomic<bool> done{false};
  CancelToken finished;
  auto started = start_thread("the tracer's watcher thread", [&] {
    // Short slices: the watcher notices a cancel or the end of the trace
    // within 20 ms.
    long left = opts_.duration_ms > 0 ? opts_.duration_ms : -1;
    while (!cancel_.cancelled()) {
      long slice = left < 0 ? 20 : std::min<long>(left, 20);
      if (!finished.sleep_for(slice)) return;
      if (left > 0) {
        left -= slice;
        if (left <= 0) break;
      }
    }
    stopping_ = true;
    while (!done.load()) {
      ::pthread_kill(self, kick_signal());
      if (!finished.sleep_for(20)) return;
    }
  });
  if (!started) {
    // Attached and stopped, with nothing to end the trace: let them go.
    detach_all();
    return started.error();
  }
  std::thread watcher = std::move(*started);
  loop();
  bool stopped_early = stopping_.load();
  done = true;
  finished.cancel();
  watcher.join();
  detach_all();

  json out;
  out["mode"] = launch_ ? "launch" : "attach";
  out["duration_ms"] = (mono_ns() - t0) / 1000000;
  summarize(counts_, out);
  out["seccomp"] = seccomp_;
  out["stopped"] = stopped_early                ? (cancel_.cancelled() ? "cancelled" : "duration")
                   : limit_reached_ && !launch_ ? "count"
                                                : "exited";
  inject_summary(out);
  if (launch_) {
    if (int e = child_.exec_errno())
      return Error::sys(e == ENOENT ? errc::kNotFound : errc::kIo, e,
                        fmt::format("cannot run {}: {}", opts_.launch_argv[0], strerror(e)),
                        "check the command and its PATH on the target");
    WaitStatus cs(child_status_);
    if (child_status_ >= 0 && cs.exited()) out["exit_code"] = cs.exit_code();
    if (child_status_ >= 0 && cs.killed()) out["killed_by"] = signal_text(cs.term_signal());
  }
  out["notes"] = notes_;
  return out;
}

Result<json> trace(const TraceOptions& opts, CancelToken& cancel, EventRing* events) {
  Tracer t(opts, cancel, events);
  return t.run();
}

}  // namespace sonde::ptrace
