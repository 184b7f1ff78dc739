#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "collector.h"
#include "perf_sampler.h"
#include "ptrace_sampler.h"
#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/common/signals.h"
#include "sonde/common/subprocess.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/thread.h"
#include "sonde/profiler/session.h"
#include "sonde/ptrace/launcher.h"
#include "sonde/ptrace/tracer_thread.h"

namespace sonde::profiler {
namespace {

uint64_t thread_cpu_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

bool process_alive(pid_t pid) {
  char s = proc::thread_state(pid, pid);
  return s != '?' && s != 'Z' && s != 'X';
}

// Launch mode: the child waits on a pipe until the sampler is in place, so
// the command is profiled from its first instruction after execve.
class LaunchedCommand {
 public:
  ~LaunchedCommand() { stop(); }
  Status start(const std::vector<std::string>& argv) {
    ptrace::LaunchOptions lo;
    lo.argv = argv;
    // Held on a pipe, not stopped: the perf sampler does not trace it.
    lo.hold = ptrace::LaunchOptions::Hold::kGate;
    auto l = ptrace::launch(lo);
    if (!l) return l.error();
    child_ = std::move(*l);
    pid_ = child_.pid();
    name_ = argv[0];
    return ok_status();
  }
  // Lets the child exec; an exec failure comes back as an error.
  Status release() {
    if (auto st = child_.release(); !st.ok()) return st;
    if (int e = child_.exec_errno()) {
      reap(1000);
      return Error::sys(errc::kNotFound, e, fmt::format("cannot run {}: {}", name_, strerror(e)),
                        "check the command and that it is installed on the target");
    }
    return ok_status();
  }
  pid_t pid() const { return pid_; }
  bool exited() {
    if (pid_ <= 0) return true;
    // Only peek: in ptrace mode the sampler waits on this pid too.
    siginfo_t si{};
    si.si_pid = 0;
    int r = ::waitid(P_PID, static_cast<id_t>(pid_), &si, WEXITED | WNOHANG | WNOWAIT);
    if (r == 0 && si.si_pid == pid_) return true;
    if (r < 0 && errno == ECHILD) {
      // Reaped already: the ptrace sampler, as its tracer, took the exit.
      // Forget the pid, which the kernel may give to another process now.
      pid_ = -1;
      return true;
    }
    return false;
  }
  std::optional<int> reap(int timeout_ms) {
    long deadline = monotonic_ms() + timeout_ms;
    while (pid_ > 0) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_ && (WIFEXITED(st) || WIFSIGNALED(st))) {
        pid_ = -1;
        return st;
      }
      if (r < 0) {
        pid_ = -1;
        return std::nullopt;
      }
      if (monotonic_ms() >= deadline) return std::nullopt;
      ::usleep(5000);
    }
    return std::nullopt;
  }
  // The session ended before the command did: ask it to stop, then insist.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    // reap() clears pid_ when the child is not ours any more: kill(-1)
    // would signal every process we may signal.
    if (!reap(1000) && pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap(1000);
    }
  }

 private:
  pid_t pid_ = -1;  // -1 once reaped (by us, or by the ptrace sampler as its tracer)
  ptrace::Launched child_;
  std::string name_;
};

}  // namespace

Result<Profile> run_profile(const ProfileOptions& o, Symbolizer& sym, std::mutex* sym_mu,
                            CancelToken& cancel, const ProgressFn& progress, ProfileCost* cost) {
  if (o.hz == 0 || o.hz > 10000)
    return Error{errc::kBadArgs, fmt::format("--hz {} is out of range", o.hz), "use 1..10000"};
  if (o.mode != "cpu" && o.mode != "wall")
    return Error{errc::kBadArgs, "--mode must be cpu or wall", {}};
  if (o.sampler != "auto" && o.sampler != "perf" && o.sampler != "ptrace")
    return Error{errc::kBadArgs, "--sampler must be auto, perf or ptrace", {}};
  const bool wall = o.mode == "wall";
  if (wall && o.sampler == "perf")
    return Error{errc::kBadArgs, "wall mode needs the ptrace sampler",
                 "perf_event's cpu-clock only sees threads that run; drop --sampler perf"};
  const bool launch = !o.argv.empty();
  if (launch == (o.pid > 0))
    return Error{errc::kBadArgs, "profile either a pid or a command, not both or neither", {}};

  LaunchedCommand child;
  pid_t pid = o.pid;
  if (launch) {
    if (auto st = child.start(o.argv); !st.ok()) return st.error();
    pid = child.pid();
  } else if (!process_alive(pid)) {
    return Error{errc::kNotFound, fmt::format("no process {}", pid),
                 "list processes with `sonde ps TARGET`"};
  }

  Profile prof;
  prof.pid = pid;
  prof.mode = o.mode;
  prof.hz = o.hz;

  ImageCache images;
  ProcessView view(pid, images);
  Collector col(view, o.max_frames);

  std::unique_ptr<PerfSampler> perf;
  std::unique_ptr<PtraceSampler> pts;
  if (wall) {
    prof.sampler_reason =
        "wall mode: blocked threads are sampled too, which perf_event's cpu-clock cannot see";
  } else if (o.sampler != "ptrace") {
    PerfSampler::Options po;
    po.hz = o.hz;
    po.stack_bytes = o.perf_stack_bytes;
    po.enable_on_exec = launch;
    auto p = PerfSampler::open(pid, po);
    if (p) {
      perf = std::move(*p);
      prof.sampler_reason =
          "perf_event_open permitted: the kernel copies registers and stack, "
          "the target never stops";
    } else if (o.sampler == "perf" || p.error().code == errc::kNotFound) {
      return p.error();
    } else {
      prof.sampler_reason = p.error().message + ": ptrace snapshots instead; " + p.error().hint;
    }
  } else {
    prof.sampler_reason = "asked for with --sampler ptrace";
  }
  if (!perf) pts = std::make_unique<PtraceSampler>(pid, wall, o.ptrace_stack_bytes);
  prof.sampler = perf ? "perf_event" : "ptrace";

  // The ptrace sampler seizes, samples and detaches on a thread that ends
  // with the sampling: a thread we gave up waiting on is let go then, not
  // left to stop later (run_on_tracer_thread).
  uint64_t start = 0, sampling_cpu_us = 0;
  auto sampling = [&]() -> Status {
    uint64_t cpu_start = thread_cpu_us();
    if (pts) {
      if (auto st = pts->scan_threads(col); !st.ok()) return st.error();
    }
    if (launch) {
      if (auto st = child.release(); !st.ok()) return st.error();
    }
    if (auto st = view.refresh(); !st.ok() && !launch) return st.error();
    start = monotonic_ms();
    const uint64_t period_us = 1000000 / o.hz;
    uint64_t next_scan = start, next_progress = start + 1000, next_names = start;
    uint64_t next_tick_us = start * 1000;
    bool refreshed_after_exec = !launch;
    auto done = [&](uint64_t now) {
      if (cancel.cancelled()) return true;
      if (o.duration_ms && now - start >= o.duration_ms) return true;
      if (launch) return child.exited() || (pts && pts->leader_gone());
      return !process_alive(pid);
    };
    for (;;) {
      uint64_t now = monotonic_ms();
      if (done(now)) break;
      if (!refreshed_after_exec && now - start >= 50) {
        // The command's own mappings exist only after its execve.
        (void)view.refresh();
        refreshed_after_exec = true;
      }
      if (now >= next_scan) {
        if (perf) perf->scan_threads(col);
        if (pts) (void)pts->scan_threads(col);
        next_scan = now + 100;
      }
      if (now >= next_names) {
        for (pid_t t : proc::list_tids(pid)) col.name_thread(t, proc::thread_name(pid, t));
        next_names = now + 1000;
      }
      if (now >= next_progress) {
        if (progress)
          progress(
              {now - start, o.duration_ms, col.samples(), perf ? perf->threads() : pts->threads()});
        next_progress = now + 1000;
      }
      if (perf) {
        perf->poll(50, col);
        continue;
      }
      // ptrace: tick on schedule; between ticks pass on the target's signals.
      uint64_t now_us = monotonic_ms() * 1000;
      if (now_us >= next_tick_us) {
        pts->sample(col);
        next_tick_us += period_us;
        // Fell behind (slow target, many threads): skip ticks, do not burst.
        if (next_tick_us < now_us) next_tick_us = now_us + period_us;
      }
      pts->service();
      ::usleep(static_cast<useconds_t>(std::min<uint64_t>(1000, period_us / 4 + 1)));
    }
    if (perf) perf->poll(0, col);
    if (pts) pts->detach_all();
    sampling_cpu_us = thread_cpu_us() - cpu_start;
    return ok_status();
  };
  if (auto st = pts ? ptrace::run_on_tracer_thread(sampling) : sampling(); !st.ok())
    return st.error();
  uint64_t cpu0 = thread_cpu_us();
  prof.duration_ms = monotonic_ms() - start;
  prof.comm = proc::thread_name(pid, pid);
  for (pid_t t : proc::list_tids(pid)) col.name_thread(t, proc::thread_name(pid, t));
  if (launch) {
    if (!child.exited()) {
      prof.notes.push_back(
          fmt::format("{} was still running after {} ms: stopped it", o.argv[0], prof.duration_ms));
      child.stop();
    } else if (auto st = child.reap(1000)) {
      prof.notes.push_back(fmt::format("{} {}", o.argv[0], describe_wait_status(*st)));
      // The command's own end: the controller exits with it, as a shell would.
      if (WIFEXITED(*st)) prof.exit_code = WEXITSTATUS(*st);
      if (WIFSIGNALED(*st)) prof.killed_by = signal_text(WTERMSIG(*st));
    }
    if (prof.comm.empty()) {
      auto slash = o.argv[0].rfind('/');
      prof.comm = slash == std::string::npos ? o.argv[0] : o.argv[0].substr(slash + 1);
    }
  }
  uint64_t cpu1 = thread_cpu_us();
  std::unique_lock<std::mutex> sym_lock;
  if (sym_mu) sym_lock = std::unique_lock<std::mutex>(*sym_mu);
  col.finish(prof, sym);
  uint64_t cpu2 = thread_cpu_us();
  if (cost) {
    cost->sampling_cpu_us = sampling_cpu_us + (cpu1 - cpu0);
    cost->symbolize_cpu_us = cpu2 - cpu1;
  }
  if (perf && !perf->kernel_included())
    prof.notes.push_back(
        "kernel time is not sampled (perf_event_paranoid > 1): threads in "
        "syscalls are under-counted");
  if (prof.lost) prof.notes.push_back(fmt::format("{} samples lost (ring buffer full)", prof.lost));
  for (auto& n : view.take_notes()) prof.notes.push_back(std::move(n));
  for (auto& n : sym.take_notes()) prof.notes.push_back(std::move(n));
  if (prof.samples == 0)
    prof.notes.push_back(wall ? "no samples: the process had no threads to sample"
                              : "no samples: the process did not run on a CPU while profiled; "
                                "try --mode wall for a process that waits");
  return prof;
}

}  // namespace sonde::profiler
