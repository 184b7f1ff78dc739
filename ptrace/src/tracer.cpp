#include "sonde/ptrace/tracer.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>
#include <unordered_map>

#include "sonde/common/io.h"
#include "sonde/common/log.h"
#include "sonde/common/subprocess.h"
#include "sonde/common/undo.h"
#include "sonde/proc/ptrace_access.h"
#include "sonde/proc/sockets.h"
#include "sonde/proc/stat.h"

namespace sonde::ptrace {
namespace {

int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t real_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// ptrace(2) wrappers. Errno contract: ESRCH means the task is gone (or not
// in a stop we may act on); callers treat it as "gone" and go on. Other
// errors are reported by the caller.
long pt(int req, pid_t tid, unsigned long addr = 0, unsigned long data = 0) {
  return ::ptrace(static_cast<enum __ptrace_request>(req), tid, addr, data);
}

// The kick signal: interrupts the tracer thread's waitpid() when it is time
// to stop. Installed without SA_RESTART so waitpid returns EINTR.
const int kKickSignal = SIGRTMIN + 3;
void on_kick(int) {}

class VmReader : public MemReader {
 public:
  explicit VmReader(pid_t pid) : pid_(pid) {}
  ssize_t read(uint64_t addr, void* buf, size_t len) override {
    iovec local{buf, len};
    iovec remote{reinterpret_cast<void*>(addr), len};
    return ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  }

 private:
  pid_t pid_;
};

// -y: what an fd is, from /proc. Sockets are looked up in the tracee's own
// network namespace, reloaded at most once per syscall that needs it.
class ProcFdAnnotator : public FdAnnotator {
 public:
  std::string describe(int pid, int fd) override {
    auto target = read_link("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd));
    if (!target.ok()) return {};
    const std::string& t = *target;
    if (t.rfind("socket:[", 0) == 0) {
      uint64_t inode = std::strtoull(t.c_str() + 8, nullptr, 10);
      std::vector<std::string> notes;
      auto table = proc::SocketTable::load(pid, &notes);
      if (const auto* s = table.find(inode)) {
        std::string proto = s->proto;
        for (auto& c : proto) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (proto == "UNIX")
          return "UNIX:[" + std::to_string(inode) + (s->local.empty() ? "" : "," + s->local) + "]";
        if (s->peer.empty()) return proto + ":[" + s->local + "]";
        return proto + ":[" + s->local + "->" + s->peer + "]";
      }
    }
    return t;
  }
};

struct Task {
  pid_t tid = 0;
  pid_t tgid = 0;
  bool in_syscall = false;
  bool pre_exec = false;  // launched child before its first execve: not shown
  long nr = -1;
  uint64_t args[6] = {};
  int64_t entry_mono = 0;
  int64_t entry_real = 0;
  bool have_entry_decode = false;
  DecodedCall entry_decoded;
};

struct Counter {
  uint64_t calls = 0, errors = 0;
  int64_t time_ns = 0;
};

json counters_json(const std::map<long, Counter>& m) {
  std::vector<std::pair<long, Counter>> v(m.begin(), m.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second.time_ns != b.second.time_ns ? a.second.time_ns > b.second.time_ns
                                                : a.second.calls > b.second.calls;
  });
  json arr = json::array();
  for (const auto& [nr, c] : v) {
    arr.push_back({{"name", syscall_label(nr)},
                   {"nr", nr},
                   {"calls", c.calls},
                   {"errors", c.errors},
                   {"time_ns", c.time_ns}});
  }
  return arr;
}

json total_json(const std::map<long, Counter>& m) {
  Counter t;
  for (const auto& [nr, c] : m) {
    t.calls += c.calls;
    t.errors += c.errors;
    t.time_ns += c.time_ns;
  }
  return {{"calls", t.calls}, {"errors", t.errors}, {"time_ns", t.time_ns}};
}

// Syscalls whose return value is a new fd: -y annotates it, as strace does.
bool returns_fd(long nr) {
  switch (nr) {
    case SYS_open:
    case SYS_openat:
    case SYS_openat2:
    case SYS_creat:
    case SYS_socket:
    case SYS_accept:
    case SYS_accept4:
    case SYS_dup:
    case SYS_dup2:
    case SYS_dup3:
    case SYS_epoll_create:
    case SYS_epoll_create1:
    case SYS_eventfd:
    case SYS_eventfd2:
    case SYS_timerfd_create:
    case SYS_signalfd:
    case SYS_signalfd4:
    case SYS_memfd_create:
    case SYS_inotify_init:
    case SYS_inotify_init1:
    case SYS_fanotify_init:
    case SYS_pidfd_open:
    case SYS_open_by_handle_at:
    case SYS_userfaultfd:
      return true;
    default:
      return false;
  }
}

std::string sig_text(int sig) {
  const char* n = sigabbrev_np(sig);
  return n ? std::string("SIG") + n : "SIG" + std::to_string(sig);
}

pid_t tgid_of(pid_t tid) {
  auto st = read_file("/proc/" + std::to_string(tid) + "/status", 4096);
  if (!st.ok()) return -1;
  auto p = st->find("Tgid:");
  return p == std::string::npos ? -1
                                : static_cast<pid_t>(std::strtol(st->c_str() + p + 5, nullptr, 10));
}

class Tracer {
 public:
  Tracer(const TraceOptions& o, CancelToken& c, const EventSink& s)
      : opts_(o), cancel_(c), sink_(s) {
    launch_ = !opts_.launch_argv.empty();
    follow_ = opts_.follow_forks || launch_;
    want_ = opts_.syscalls;
    seccomp_ = launch_ && opts_.use_seccomp && !want_.empty();
  }

  Result<json> run();

 private:
  Status attach_all();
  Status launch();
  Status seize(pid_t tid, pid_t tgid, bool is_leader);
  void loop();
  void handle_stop(pid_t tid, int status);
  void on_syscall(Task& t);
  void resume(pid_t tid, int sig = 0);
  void detach_all();
  bool wanted(long nr) const {
    return want_.empty() || (nr >= 0 && static_cast<size_t>(nr) < want_.size() && want_[nr]);
  }
  void emit(json&& ev) {
    if (!opts_.summary_only && sink_) sink_(std::move(ev));
  }
  Task& task(pid_t tid, pid_t tgid) {
    auto it = tasks_.find(tid);
    if (it != tasks_.end()) return it->second;
    Task& t = tasks_[tid];
    t.tid = tid;
    t.tgid = tgid;
    return t;
  }

  const TraceOptions& opts_;
  CancelToken& cancel_;
  const EventSink& sink_;
  bool launch_ = false, follow_ = false, seccomp_ = false;
  std::vector<bool> want_;
  std::unordered_map<pid_t, Task> tasks_;
  std::map<pid_t, std::map<long, Counter>> counts_;  // by tgid
  std::vector<std::string> notes_;
  pid_t child_ = -1;
  int child_status_ = -1;
  int status_fd_ = -1;  // launch: the child's exec errno, if exec failed
  int cpu_ = -1;        // colocate: the CPU tracer and tracees share
  cpu_set_t tracer_mask_;
  std::map<pid_t, cpu_set_t> saved_masks_;  // colocate: each thread's affinity before us

  std::map<pid_t, undo::Change> pinned_;  // colocate: the watchdog's record of each saved mask

  // Tells the watchdog tid's mask before it changes, so a dead agent's pin
  // is undone too. False: leave tid alone (no watchdog, or tid is gone).
  bool register_mask(pid_t tid, const cpu_set_t& m) {
    uint64_t words[sizeof(cpu_set_t) / 8];
    std::memcpy(words, &m, sizeof words);
    size_t n = std::size(words);
    while (n > 1 && words[n - 1] == 0) --n;
    auto ch = undo::register_change(undo::kAffinity, tid,
                                    {{"mask", std::vector<uint64_t>(words, words + n)}});
    if (!ch) {
      if (ch.error().code != errc::kNotFound) {
        notes_.push_back("colocate: " + ch.error().message);
        unpin_all();  // what was pinned goes back; nothing more is pinned
        cpu_ = -1;
      }
      return false;
    }
    pinned_[tid] = std::move(*ch);
    return true;
  }
  void pin(pid_t tid) {
    if (cpu_ < 0) return;
    if (!saved_masks_.count(tid)) {
      cpu_set_t m;
      if (::sched_getaffinity(tid, sizeof m, &m) != 0) return;
      saved_masks_[tid] = m;
    }
    if (!pinned_.count(tid) && !register_mask(tid, saved_masks_[tid])) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu_, &one);
    ::sched_setaffinity(tid, sizeof one, &one);
  }
  void unpin_all() {
    if (cpu_ < 0) return;
    // Threads born while pinned inherited the one-CPU mask: give them their
    // process's original mask.
    for (auto& [tid, t] : tasks_) {
      auto it = saved_masks_.find(tid);
      if (it == saved_masks_.end()) it = saved_masks_.find(t.tgid);
      if (it != saved_masks_.end()) ::sched_setaffinity(tid, sizeof it->second, &it->second);
    }
    for (auto& [tid, m] : saved_masks_) ::sched_setaffinity(tid, sizeof m, &m);  // ESRCH: gone
    ::sched_setaffinity(0, sizeof tracer_mask_, &tracer_mask_);
    pinned_.clear();  // undone: the watchdog forgets them
  }
  std::atomic<bool> stopping_{false};
  ProcFdAnnotator fds_;
};

Status Tracer::seize(pid_t tid, pid_t tgid, bool is_leader) {
  long o = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACECLONE;
  if (follow_) o |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
  if (launch_) o |= PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP;
  if (pt(PTRACE_SEIZE, tid, 0, static_cast<unsigned long>(o)) != 0) {
    int e = errno;
    if (e == ESRCH && !is_leader) return ok_status();  // thread died meanwhile
    return proc::ptrace_attach_error(tgid, tid, e);
  }
  task(tid, tgid);
  pin(tid);
  // A stop we can resume from with PTRACE_SYSCALL.
  if (pt(PTRACE_INTERRUPT, tid) != 0 && errno != ESRCH)
    spdlog::warn("ptrace interrupt {}: {}", tid, strerror(errno));
  return ok_status();
}

Status Tracer::attach_all() {
  for (int pid : opts_.attach_pids) {
    if (pid <= 0) return Error{errc::kBadArgs, fmt::format("bad pid {}", pid), {}};
    if (::kill(pid, 0) != 0 && errno == ESRCH)
      return Error{errc::kNotFound, fmt::format("no process {}", pid),
                   "list processes with `sonde ps TARGET`"};
    // Threads may be born while we attach: list until nothing new appears.
    std::vector<pid_t> seen;
    for (int round = 0; round < 10; ++round) {
      bool added = false;
      for (pid_t tid : proc::list_tids(pid)) {
        if (std::find(seen.begin(), seen.end(), tid) != seen.end()) continue;
        seen.push_back(tid);
        added = true;
        if (auto st = seize(tid, pid, tid == pid); !st.ok()) {
          if (tid == pid) return st.error();
          if (st.error().code != errc::kNotFound) spdlog::warn("{}", st.error().message);
        }
      }
      if (!added) break;
    }
    emit({{"type", "attached"}, {"pid", pid}, {"tids", seen.size()}, {"ts_ns", real_ns()}});
  }
  return ok_status();
}

// BPF: trace the selected syscalls (and execve, to see the exec), allow the
// rest. A filter on a non-x86-64 ABI (32-bit int 0x80) traces everything.
std::vector<sock_filter> build_filter(const std::vector<bool>& want) {
  std::vector<sock_filter> f;
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
  std::vector<uint32_t> nrs;
  for (size_t nr = 0; nr < want.size(); ++nr)
    if (want[nr] || nr == SYS_execve || nr == SYS_execveat)
      nrs.push_back(static_cast<uint32_t>(nr));
  for (size_t i = 0; i < nrs.size(); ++i) {
    // if nr == nrs[i] jump to the RET_TRACE at the end.
    uint8_t to_trace = static_cast<uint8_t>(nrs.size() - i);
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nrs[i], to_trace, 0));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE));
  return f;
}

Status Tracer::launch() {
  std::vector<char*> argv;
  for (const auto& a : opts_.launch_argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<sock_filter> filter;
  if (seccomp_) {
    filter = build_filter(want_);
    if (filter.size() > 250) seccomp_ = false;  // jump offsets are 8-bit
  }
  sock_fprog prog{static_cast<unsigned short>(filter.size()), filter.data()};
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) return errno_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    // The agent's stdin and stdout carry the protocol: the command gets
    // /dev/null for input and the agent's stderr for output.
    int nul = ::open("/dev/null", O_RDONLY);
    if (nul >= 0) ::dup2(nul, 0);
    ::dup2(2, 1);
    // The command starts clean: default signals, empty mask, fds 0-2 only
    // (the status pipe is close-on-exec).
    reset_child_for_exec(&status_pipe[1], 1);
    ::raise(SIGSTOP);  // wait here until the tracer has seized us
    if (seccomp_) {
      if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
          ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        int e = errno;
        ssize_t w = ::write(status_pipe[1], &e, sizeof e);
        (void)w;
        ::_exit(126);
      }
    }
    ::execvp(argv[0], argv.data());
    int e = errno;
    ssize_t w = ::write(status_pipe[1], &e, sizeof e);
    (void)w;
    ::_exit(127);
  }
  ::close(status_pipe[1]);
  child_ = pid;
  int st;
  if (::waitpid(pid, &st, WSTOPPED) != pid || !WIFSTOPPED(st)) {
    ::close(status_pipe[0]);
    return Error{errc::kInternal, "launched child did not stop", {}};
  }
  auto s = seize(pid, pid, true);
  if (!s.ok()) {
    ::kill(pid, SIGKILL);
    ::close(status_pipe[0]);
    return s.error();
  }
  task(pid, pid).pre_exec = true;
  ::kill(pid, SIGCONT);
  status_fd_ = status_pipe[0];
  return ok_status();
}

void Tracer::resume(pid_t tid, int sig) {
  auto it = tasks_.find(tid);
  // Between a seccomp stop and its syscall-exit we need PTRACE_SYSCALL; else
  // with seccomp everything else runs free under PTRACE_CONT.
  int req = PTRACE_SYSCALL;
  if (seccomp_ && it != tasks_.end() && !it->second.in_syscall) req = PTRACE_CONT;
  if (pt(req, tid, 0, static_cast<unsigned long>(sig)) != 0 && errno != ESRCH)
    spdlog::debug("resume {}: {}", tid, strerror(errno));
}

void Tracer::on_syscall(Task& t) {
  __ptrace_syscall_info info;
  long n = pt(PTRACE_GET_SYSCALL_INFO, t.tid, sizeof info, reinterpret_cast<unsigned long>(&info));
  if (n <= 0) return;
  if (info.op == PTRACE_SYSCALL_INFO_ENTRY || info.op == PTRACE_SYSCALL_INFO_SECCOMP) {
    // entry and seccomp share the layout of nr and args.
    bool entry = info.op == PTRACE_SYSCALL_INFO_ENTRY;
    t.in_syscall = true;
    t.nr = static_cast<long>(entry ? info.entry.nr : info.seccomp.nr);
    for (int i = 0; i < 6; ++i) t.args[i] = entry ? info.entry.args[i] : info.seccomp.args[i];
    t.entry_mono = mono_ns();
    t.have_entry_decode = false;
    // The launched child's own execve is shown (and must be read now, before
    // the exec replaces its memory); its other setup syscalls are not.
    bool is_exec = t.nr == SYS_execve || t.nr == SYS_execveat;
    bool show = !opts_.summary_only && wanted(t.nr) && (!t.pre_exec || is_exec);
    if (show) t.entry_real = real_ns();
    // With -y, close must be read before it closes: at exit the fd is gone.
    bool at_entry = decode_at_entry(t.nr) || (opts_.decode.annotate_fds && t.nr == SYS_close);
    if (show && at_entry) {
      VmReader mem(t.tid);
      t.entry_decoded = decode_args(t.tid, t.nr, t.args, kNoReturn, mem,
                                    opts_.decode.annotate_fds ? &fds_ : nullptr, opts_.decode);
      t.have_entry_decode = true;
    }
    if ((t.nr == SYS_exit || t.nr == SYS_exit_group) && !t.pre_exec && wanted(t.nr)) {
      // These never reach a syscall-exit stop: show them now, with strace's
      // "= ?". Like strace -c, the summary counts completed calls only.
      t.in_syscall = false;
      if (show && !opts_.failed_only) {
        const char* name = syscall_name(t.nr);
        json ev = {{"type", "syscall"},
                   {"pid", t.tid},
                   {"name", name ? name : "exit"},
                   {"nr", t.nr},
                   {"args_text", std::move(t.entry_decoded.args_text)},
                   {"ret", nullptr},
                   {"ret_text", "?"},
                   {"ts_ns", t.entry_real},
                   {"dur_ns", 0}};
        if (opts_.decode.structured) ev["args"] = std::move(t.entry_decoded.args);
        emit(std::move(ev));
      }
    }
    return;
  }
  if (info.op != PTRACE_SYSCALL_INFO_EXIT || !t.in_syscall) {
    t.in_syscall = false;
    return;
  }
  t.in_syscall = false;
  int64_t ret = info.exit.rval;
  int64_t dur = mono_ns() - t.entry_mono;
  if (t.pre_exec) {
    // The launched child's own setup (seccomp, execve) is not the command's.
    if ((t.nr == SYS_execve || t.nr == SYS_execveat) && ret == 0)
      t.pre_exec = false;
    else
      return;
  }
  if (!wanted(t.nr)) return;
  bool failed = ret < 0 && ret > -4096;
  Counter& c = counts_[t.tgid][t.nr];
  ++c.calls;
  if (failed) ++c.errors;
  c.time_ns += dur;
  if (opts_.summary_only || (opts_.failed_only && !failed)) return;
  DecodedCall d;
  if (t.have_entry_decode) {
    d = std::move(t.entry_decoded);
  } else {
    VmReader mem(t.tid);
    d = decode_args(t.tid, t.nr, t.args, ret, mem, opts_.decode.annotate_fds ? &fds_ : nullptr,
                    opts_.decode);
  }
  std::string ret_text = format_return(t.nr, ret, d);
  if (opts_.decode.annotate_fds && ret >= 0 && returns_fd(t.nr)) {
    std::string what = fds_.describe(t.tid, static_cast<int>(ret));
    if (!what.empty()) ret_text += "<" + what + ">";
  }
  json ev = {{"type", "syscall"},
             {"pid", t.tid},
             {"name", syscall_label(t.nr)},
             {"nr", t.nr},
             {"args_text", std::move(d.args_text)},
             {"ret", ret},
             {"ret_text", std::move(ret_text)},
             {"ts_ns", t.entry_real},
             {"dur_ns", dur}};
  if (opts_.decode.structured) ev["args"] = std::move(d.args);
  if (failed) {
    const char* en = errno_name(static_cast<int>(-ret));
    if (en) ev["errno"] = en;
  }
  emit(std::move(ev));
}

void Tracer::handle_stop(pid_t tid, int status) {
  auto it = tasks_.find(tid);
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    pid_t tgid = it != tasks_.end() ? it->second.tgid : tid;
    if (tid == tgid) {
      if (WIFEXITED(status))
        emit({{"type", "exit"}, {"pid", tid}, {"code", WEXITSTATUS(status)}, {"ts_ns", real_ns()}});
      else
        emit({{"type", "killed"},
              {"pid", tid},
              {"sig", sig_text(WTERMSIG(status))},
              {"ts_ns", real_ns()}});
    }
    if (tid == child_) child_status_ = status;
    if (it != tasks_.end()) tasks_.erase(it);
    return;
  }
  if (!WIFSTOPPED(status)) return;
  if (it == tasks_.end()) {
    // An auto-attached child whose stop outran its parent's fork event.
    pid_t tgid = tgid_of(tid);
    task(tid, tgid > 0 ? tgid : tid);
    it = tasks_.find(tid);
  }
  Task& t = it->second;
  int sig = WSTOPSIG(status);
  int event = (status >> 16) & 0xff;
  if (sig == (SIGTRAP | 0x80)) {
    on_syscall(t);
    resume(tid);
    return;
  }
  switch (event) {
    case 0:
      break;  // signal-delivery-stop, below
    case PTRACE_EVENT_SECCOMP:
      on_syscall(t);
      resume(tid);  // PTRACE_SYSCALL: we want this syscall's exit
      return;
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE: {
      unsigned long msg = 0;
      if (pt(PTRACE_GETEVENTMSG, tid, 0, reinterpret_cast<unsigned long>(&msg)) == 0 && msg) {
        pid_t child = static_cast<pid_t>(msg);
        // clone3 keeps its flags in a struct: ask /proc whose thread it is.
        pid_t tgid = tgid_of(child);
        Task& c = task(child, tgid > 0 ? tgid : (event == PTRACE_EVENT_CLONE ? t.tgid : child));
        if (tgid > 0) c.tgid = tgid;
        c.pre_exec = false;
        // It inherited the pinned mask; restore it to its creator's original.
        if (auto m = saved_masks_.find(tid);
            m != saved_masks_.end() && !saved_masks_.count(child)) {
          saved_masks_[child] = m->second;
          // The kernel pinned it before we heard of it: register at once,
          // while it still waits in its first stop.
          if (cpu_ >= 0) (void)register_mask(child, m->second);
        }
      }
      resume(tid);
      return;
    }
    case PTRACE_EVENT_EXEC: {
      unsigned long former = 0;
      pt(PTRACE_GETEVENTMSG, tid, 0, reinterpret_cast<unsigned long>(&former));
      // A non-leader thread that execs takes over the leader's tid.
      if (static_cast<pid_t>(former) != tid) {
        auto old = tasks_.find(static_cast<pid_t>(former));
        if (old != tasks_.end()) {
          Task moved = old->second;
          tasks_.erase(old);
          moved.tid = tid;
          tasks_[tid] = moved;
        }
      }
      resume(tid);
      return;
    }
    case PTRACE_EVENT_STOP: {
      // Under PTRACE_SEIZE, a stop event carrying a stop signal is a
      // group-stop; interrupt-stops and a new child's first stop carry
      // SIGTRAP. The target stopped itself: it stays stopped, as without us,
      // and LISTEN lets us see the SIGCONT that wakes it.
      if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
        if (!t.pre_exec && !opts_.summary_only)
          emit({{"type", "signal"},
                {"pid", tid},
                {"sig", sig_text(sig)},
                {"group_stop", true},
                {"ts_ns", real_ns()}});
        pt(PTRACE_LISTEN, tid);
        return;
      }
      resume(tid);  // interrupt-stop or a new child's first stop
      return;
    }
    case PTRACE_EVENT_EXIT:
    default:
      resume(tid);
      return;
  }
  // Signal-delivery-stop: show it, and deliver it unchanged.
  if (!t.pre_exec && !opts_.summary_only)
    emit({{"type", "signal"}, {"pid", tid}, {"sig", sig_text(sig)}, {"ts_ns", real_ns()}});
  resume(tid, sig);
}

void Tracer::loop() {
  while (!tasks_.empty()) {
    if (stopping_.load()) return;
    int status = 0;
    pid_t tid = ::waitpid(-1, &status, __WALL | __WNOTHREAD);
    if (tid < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) {
        tasks_.clear();
        return;
      }
      spdlog::warn("waitpid: {}", strerror(errno));
      return;
    }
    handle_stop(tid, status);
  }
}

void Tracer::detach_all() {
  unpin_all();
  if (launch_) {
    // Launched commands die with the trace, like under strace.
    for (auto& [tid, t] : tasks_) ::kill(tid, SIGKILL);
    long deadline = mono_ns() + 2000000000L;
    while (!tasks_.empty() && mono_ns() < deadline) {
      int st;
      pid_t w = ::waitpid(-1, &st, __WALL | __WNOTHREAD);
      if (w < 0) {
        if (errno == EINTR) continue;
        break;
      }
      handle_stop(w, st);
      if (WIFSTOPPED(st)) pt(PTRACE_CONT, w);  // let it reach the kill
    }
    tasks_.clear();
    return;
  }
  // Interrupt everyone, then detach each as its stop arrives, handing back
  // a signal it was about to receive.
  for (auto& [tid, t] : tasks_)
    if (pt(PTRACE_INTERRUPT, tid) != 0 && errno != ESRCH)
      spdlog::debug("interrupt {}: {}", tid, strerror(errno));
  std::map<pid_t, bool> pending;
  for (auto& [tid, t] : tasks_) pending[tid] = true;
  long deadline = mono_ns() + 3000000000L;
  while (!pending.empty() && mono_ns() < deadline) {
    int st = 0;
    pid_t w = ::waitpid(-1, &st, __WALL | __WNOTHREAD | WNOHANG);
    if (w == 0) {
      ::usleep(1000);
      continue;
    }
    if (w < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (!WIFSTOPPED(st)) {  // exited on its own meanwhile
      pending.erase(w);
      continue;
    }
    int sig = WSTOPSIG(st);
    int event = (st >> 16) & 0xff;
    int inject = 0;
    if (event == 0 && sig != (SIGTRAP | 0x80)) inject = sig;  // a real signal: hand it back
    if (pt(PTRACE_DETACH, w, 0, static_cast<unsigned long>(inject)) != 0 && errno != ESRCH)
      spdlog::warn("detach {}: {}", w, strerror(errno));
    pending.erase(w);
  }
  for (auto& [tid, ignored] : pending) {
    // Still running without a stop (should not happen): PTRACE_DETACH needs
    // a stop, so this one is detached by the kernel when we exit.
    notes_.push_back(fmt::format("thread {} did not stop for detach in time", tid));
  }
  for (auto& [tid, t] : tasks_)
    if (t.tid == t.tgid) emit({{"type", "detached"}, {"pid", tid}, {"ts_ns", real_ns()}});
  tasks_.clear();
}

Result<json> Tracer::run() {
  if (launch_ && !opts_.attach_pids.empty())
    return Error{errc::kBadArgs, "trace either attaches (-p) or launches (-- CMD), not both", {}};
  if (!launch_ && opts_.attach_pids.empty())
    return Error{errc::kBadArgs, "nothing to trace", "pass -p PID or -- CMD ARGS"};

  struct sigaction sa = {};
  sa.sa_handler = on_kick;
  sigemptyset(&sa.sa_mask);
  ::sigaction(kKickSignal, &sa, nullptr);
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, kKickSignal);
  ::pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);

  int64_t t0 = mono_ns();
  if (opts_.colocate) {
    ::sched_getaffinity(0, sizeof tracer_mask_, &tracer_mask_);
    cpu_ = ::sched_getcpu();
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu_, &one);
    if (cpu_ < 0 || ::sched_setaffinity(0, sizeof one, &one) != 0) {
      notes_.push_back("colocate: could not pin the tracer; tracing without it");
      cpu_ = -1;
    }
  }
  Status st = launch_ ? launch() : attach_all();
  if (!st.ok()) {
    detach_all();
    return st.error();
  }

  // The watcher wakes the loop when the duration is over or we are cancelled.
  pthread_t self = ::pthread_self();
  std::atomic<bool> done{false};
  CancelToken finished;
  std::thread watcher([&] {
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
      ::pthread_kill(self, kKickSignal);
      if (!finished.sleep_for(20)) return;
    }
  });
  loop();
  bool stopped_early = stopping_.load();
  done = true;
  finished.cancel();
  watcher.join();
  detach_all();

  json out;
  out["mode"] = launch_ ? "launch" : "attach";
  out["duration_ms"] = (mono_ns() - t0) / 1000000;
  std::map<long, Counter> all;
  json per = json::array();
  for (const auto& [tgid, m] : counts_) {
    for (const auto& [nr, c] : m) {
      Counter& a = all[nr];
      a.calls += c.calls;
      a.errors += c.errors;
      a.time_ns += c.time_ns;
    }
    per.push_back({{"pid", tgid}, {"syscalls", counters_json(m)}, {"total", total_json(m)}});
  }
  out["syscalls"] = counters_json(all);
  out["total"] = total_json(all);
  out["per_process"] = per;
  out["seccomp"] = seccomp_;
  out["stopped"] = stopped_early ? (cancel_.cancelled() ? "cancelled" : "duration") : "exited";
  if (launch_) {
    int child_errno = 0;
    if (status_fd_ >= 0) {
      if (::read(status_fd_, &child_errno, sizeof child_errno) != sizeof child_errno)
        child_errno = 0;
      ::close(status_fd_);
      status_fd_ = -1;
    }
    if (child_errno)
      return Error::sys(
          child_errno == ENOENT ? errc::kNotFound : errc::kIo, child_errno,
          fmt::format("cannot run {}: {}", opts_.launch_argv[0], strerror(child_errno)),
          "check the command and its PATH on the target");
    if (child_status_ >= 0 && WIFEXITED(child_status_))
      out["exit_code"] = WEXITSTATUS(child_status_);
    if (child_status_ >= 0 && WIFSIGNALED(child_status_))
      out["killed_by"] = sig_text(WTERMSIG(child_status_));
  }
  out["notes"] = notes_;
  return out;
}

}  // namespace

Result<json> trace(const TraceOptions& opts, CancelToken& cancel, const EventSink& sink) {
  Tracer t(opts, cancel, sink);
  return t.run();
}

}  // namespace sonde::ptrace
