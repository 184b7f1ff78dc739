// The tracer's parts, shared by its files: tracer.cpp (run), tracer_launch.cpp
// (attach and launch), tracer_loop.cpp (the stop loop and detach),
// colocate.cpp, summary.cpp, seccomp_filter.cpp, fd_annotator.cpp.
#pragma once

#include <sched.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sonde/common/undo.h"
#include "sonde/proc/sockets.h"
#include "sonde/ptrace/attachment.h"
#include "sonde/ptrace/launcher.h"
#include "sonde/ptrace/remote_ptr.h"
#include "sonde/ptrace/tracer.h"

namespace sonde::ptrace {

inline int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

inline int64_t real_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Interrupts the tracer thread's waitpid(): when it is time to stop, and
// when a task held for an injected delay is due. Installed without
// SA_RESTART so waitpid returns EINTR.
inline int kick_signal() {
  return SIGRTMIN + 3;
}

// A shown call that has not returned after this long is shown at its entry,
// as strace's "<unfinished ...>": a blocked read is seen while it blocks.
inline constexpr int64_t kUnfinishedNs = 100'000'000;

// A tracee's memory, read with process_vm_readv.
class VmReader : public MemReader {
 public:
  explicit VmReader(pid_t pid) : pid_(pid) {}
  ssize_t read(RemotePtr<void> from, void* buf, size_t len) override {
    return read_remote(pid_, from, buf, len);
  }

 private:
  pid_t pid_;
};

// The seccomp-bpf program for a launch: trace the selected syscalls (and
// execve, to see the exec), allow the rest. Empty when the selection does not
// fit one program (its jump offsets are 8-bit).
std::vector<sock_filter> build_seccomp_filter(const std::vector<bool>& want);

// -y: what an fd is, from /proc.
class ProcFdAnnotator : public FdAnnotator {
 public:
  bool describe(int pid, int fd, std::string& out) override;
  // bind and connect change what a socket fd shows: read it afresh next time.
  void changed(int pid, int fd);
  // listen or a send may have put a socket into a table: a miss remembered
  // for it is dropped.
  void may_be_listed(int pid, int fd);

  // Launch mode with every syscall stopping (no seccomp filter): the launched
  // process and all it starts are traced, so every change to their fd tables
  // is a syscall exit the tracer sees before it decodes the next call. Which
  // socket an fd is can then be kept per process until a call that may
  // change the table (close, dup2, execve, anything not known harmless), and
  // a read or write on a known socket costs no syscall at all. Other fds
  // (files, pipes) are read each time: a rename or unlink elsewhere changes
  // their text.
  void keep_socket_fds(bool on) { keep_ = on; }
  // Every syscall exit of a traced task, before the call is decoded.
  // clone_flags: the flags of a clone or clone3 (0 otherwise).
  void exit_seen(pid_t tid, pid_t tgid, long nr, int64_t ret, uint64_t clone_flags);
  // A new process (a tgid seen for the first time): a pid can be reused.
  void new_process(pid_t tgid) {
    current_tid_ = 0;
    current_ = nullptr;
    fd_inode_.erase(tgid);
  }
  // Annotates an fd the call just returned: never from the kept map, which
  // a concurrent close elsewhere may not have cleared yet.
  void annotate_new(int pid, int fd, std::string& out) {
    fresh_ = true;
    annotate(pid, fd, out);
    fresh_ = false;
  }

 private:
  void append_socket(int pid, uint64_t inode, std::string& out);
  // Kept texts go when the tables were read again since (or past 4096).
  void drop_stale_texts();

  proc::SocketCache sockets_;
  bool keep_ = false, fresh_ = false;
  pid_t current_tid_ = 0;
  std::unordered_map<int, uint64_t>* current_ = nullptr;                   // current_tid_'s process
  std::unordered_map<pid_t, std::unordered_map<int, uint64_t>> fd_inode_;  // tgid -> fd -> inode
  // Processes sharing their fd table with another process (clone with
  // CLONE_FILES and no CLONE_THREAD) or using io_uring (which closes fds
  // without a syscall): nothing kept.
  std::unordered_map<pid_t, bool> uncached_;
  // Per call, a hit costs one readlink and no malloc: the link is read into
  // target_, and a socket's text is kept by inode until the tables are read
  // again (loads() moves) or the socket changes.
  std::string target_;
  std::unordered_map<uint64_t, std::string> text_;
  size_t text_loads_ = 0;
};

// --colocate: the tracer on its CPU, every tracee pinned to it, each thread's
// own mask saved first (and registered with the undo watchdog) and put back
// on every exit path we control.
class Colocator {
 public:
  // tasks() lists every traced (tid, tgid): restore() gives threads born
  // while pinned their process's mask.
  Colocator(std::vector<std::string>& notes,
            std::function<std::vector<std::pair<pid_t, pid_t>>()> tasks)
      : notes_(notes), tasks_(std::move(tasks)) {}
  // Pins the calling thread to the CPU it runs on; a note when it cannot.
  void start();
  bool active() const { return cpu_ >= 0; }
  void pin(pid_t tid);
  // A fork or clone event: child inherited parent's pin; it gets parent's mask back.
  void inherit(pid_t parent, pid_t child);
  void restore();

 private:
  bool register_mask(pid_t tid, const cpu_set_t& m);

  std::vector<std::string>& notes_;
  std::function<std::vector<std::pair<pid_t, pid_t>>()> tasks_;
  int cpu_ = -1;
  cpu_set_t tracer_mask_;
  std::map<pid_t, cpu_set_t> saved_masks_;
  std::map<pid_t, undo::Change> pinned_;  // the watchdog's record of each saved mask
};

struct Counter {
  uint64_t calls = 0, errors = 0;
  int64_t time_ns = 0;
};
using Counters = std::map<long, Counter>;

// Fills the summary's "syscalls", "total" and "per_process" from the
// per-process counts (by tgid).
void summarize(const std::map<pid_t, Counters>& counts, json& out);

struct Task {
  Attachment att;
  pid_t tid = 0;
  pid_t tgid = 0;
  bool in_syscall = false;
  bool pre_exec = false;  // launched child before its first execve: not shown
  // A launch without -f: a process the command started. It is followed (a
  // child under the seccomp filter with no tracer would get ENOSYS) but
  // neither shown nor counted, as strace without -f does not trace it.
  bool hidden = false;
  long nr = -1;
  uint64_t args[6] = {};
  int64_t entry_mono = 0;
  int64_t entry_real = 0;
  bool have_entry_decode = false;
  DecodedCall entry_decoded;
  // A shown call that has not returned: its index in Tracer::unfinished_
  // until it is announced (-1: not waiting).
  int pending_at = -1;
  // Announced at entry (strace's "<unfinished ...>"): its exit is shown as
  // "<... NAME resumed>".
  bool unfinished = false;
  // Attach: the call /proc said the thread was blocked in, and, when its
  // first call is restart_syscall, the call that resumes.
  long blocked_nr = -1;
  long resumes_nr = -1;
  // Injection: calls counted per (rule, syscall), as (rule << 32 | nr).
  std::unordered_map<uint64_t, uint64_t> inject_calls;
  bool injected = false;  // a rule fired on the current call
  bool tampered = false;  // its number was replaced: the result is ours
  int64_t inject_ret = 0;
  int inject_sig = 0;         // the signal a rule sends (tgkill at the entry stop)
  int64_t delay_exit_ns = 0;  // held this long at the exit stop
  int64_t hold_ns = 0;        // held this long before the next resume
  bool held = false;          // stopped, waiting in Tracer::held_
  int held_sig = 0;
};

struct InjectCount {
  uint64_t count = 0;
  int64_t first_ns = 0, last_ns = 0;  // CLOCK_REALTIME
};

class Tracer {
 public:
  Tracer(const TraceOptions& o, CancelToken& c, EventRing* events);

  ~Tracer();
  Result<json> run();

 private:
  Status attach_all();
  Status launch();
  Status seize(pid_t tid, pid_t tgid, bool is_leader);
  void loop();
  void handle_stop(pid_t tid, WaitStatus status);
  void on_event_stop(Task& t, int event);
  void on_syscall(Task& t);
  void on_syscall_exit(Task& t, int64_t ret);
  void resume(Task& t, int sig = 0);
  // Injection (tracer_inject.cpp): at a syscall's entry, which rules fire
  // and what they do; at its exit, the result written.
  void inject_entry(Task& t);
  int64_t inject_exit(Task& t, int64_t ret);
  bool args_match(Task& t, const InjectRule& r);
  // Tasks held for a delay: resumed once due; the timer wakes waitpid().
  void release_due();
  void arm_timer();
  void inject_summary(json& out) const;
  void detach_all();
  void kill_launched();
  bool wanted(long nr) const {
    return want_.empty() || (nr >= 0 && static_cast<size_t>(nr) < want_.size() && want_[nr]);
  }
  // A ring slot for an event, or nullptr (-c, no ring, or the ring is full:
  // then nothing about it need be decoded). Filled, it is published.
  // ts: the event's time (CLOCK_REALTIME). A call of another thread that
  // entered before it and has not returned is announced first, so that
  // lines stay in time order.
  TraceEvent* event(TraceEvent::Type type, pid_t pid, int64_t ts) {
    if (opts_.summary_only || !events_) return nullptr;
    if (!unfinished_.empty()) announce_before(ts, pid);
    return events_->claim(type, pid);
  }
  bool publish() { return events_->publish(); }
  void emit_signal(pid_t tid, int sig, bool group_stop);
  // Unfinished calls (tracer_unfinished.cpp): a shown call waits in
  // unfinished_ from its entry; one that has not returned within
  // kUnfinishedNs, or that another line would overtake, is shown at once
  // with strace's "<unfinished ...>", and its exit as "<... NAME resumed>".
  void pend(Task& t);
  void unpend(Task& t);
  void announce(Task& t);
  void announce_before(int64_t ts, pid_t except);
  void announce_due();
  void announce_all();
  // The call's text, with restart_syscall named as strace does.
  void fix_restart_text(const Task& t, std::string& args_text) const;
  // What a task shows: nothing of hidden processes, of the launched child's
  // setup before its exec, or (inject) of calls no rule fired on.
  bool shows(const Task& t) const { return !t.hidden && (!injected_only_ || t.injected); }
  // The task of tid, made on first sight with att (seize) or adopted (a
  // child the kernel attached).
  Task& task(pid_t tid, pid_t tgid, Attachment att = {});

  const TraceOptions& opts_;
  CancelToken& cancel_;
  EventRing* events_;
  DecodedCall scratch_;  // the exit decode, reused: its buffers keep their size
  bool launch_ = false, follow_ = false, seccomp_ = false;
  std::vector<bool> want_;
  std::unordered_map<pid_t, Task> tasks_;
  std::map<pid_t, Counters> counts_;  // by tgid
  std::vector<std::string> notes_;
  Launched child_;
  int child_status_ = -1;
  Colocator colocate_;
  std::atomic<bool> stopping_{false};
  ProcFdAnnotator fds_;
  // Injection state.
  std::map<long, InjectCount> injected_;
  uint64_t injected_total_ = 0;
  bool limit_reached_ = false;
  bool injected_only_ = false;     // inject without -e trace=: show the fired calls only
  bool mark_unfinished_ = false;   // lines are made, each whole: calls may be split
  std::vector<pid_t> unfinished_;  // tids of shown calls not returned nor announced
  int64_t unfinished_due_ = 0;     // when the oldest of them is due (CLOCK_MONOTONIC ns)
  int64_t spin_ns_ = 0;            // poll this long for the next stop before sleeping
  std::mt19937_64 rng_;
  std::multimap<int64_t, pid_t> held_;  // due time (CLOCK_MONOTONIC ns) -> tid
  timer_t timer_{};                     // made on first hold
  bool timer_made_ = false, timer_ok_ = false;
  int64_t timer_due_ = 0;  // what the timer is set for (0: disarmed)
  pid_t tracer_tid_ = 0;
};

}  // namespace sonde::ptrace
