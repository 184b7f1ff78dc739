#include "perf_sampler.h"

#include <linux/perf_event.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/proc/stat.h"
#include "sonde/profiler/perf_probe.h"

namespace sonde::profiler {
namespace {

constexpr size_t kRingPage = 4096;

int perf_event_open(perf_event_attr* a, pid_t tid) {
  return static_cast<int>(::syscall(SYS_perf_event_open, a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
}

std::string paranoid_level() {
  auto s = read_file("/proc/sys/kernel/perf_event_paranoid", 64);
  if (!s.ok()) return "?";
  std::string v = *s;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

// Seccomp mode 2 in /proc/self/status: a filter is installed.
bool seccomp_filtered() {
  auto s = read_file("/proc/self/status", 16384);
  if (!s.ok()) return false;
  auto st = proc::parse_status(*s);
  return st.ok() && st->seccomp == 2;
}

}  // namespace

PerfEventAccess explain_perf_refusal(int e) {
  PerfEventAccess a;
  a.error = e;
  std::string paranoid = paranoid_level();
  if (e == EACCES || e == EPERM) {
    if (seccomp_filtered()) {
      a.why =
          "perf_event_open refused by a seccomp filter (a container's default profile does this)";
      a.hint =
          "use --sampler ptrace (auto falls back by itself), or allow perf_event_open in the "
          "container's seccomp profile";
    } else {
      a.why = fmt::format("perf_event_open not permitted (perf_event_paranoid={})", paranoid);
      a.hint =
          "set it to 2 or lower (sysctl kernel.perf_event_paranoid=2), run with --sudo, or use "
          "--sampler ptrace";
    }
  } else if (e == ENOENT || e == ENOSYS || e == EOPNOTSUPP) {
    a.why =
        fmt::format("perf_event_open: {} (no perf events in this kernel or VM)", std::strerror(e));
    a.hint = "use --sampler ptrace";
  } else {
    a.why = fmt::format("perf_event_open: {}", std::strerror(e));
    a.hint = "use --sampler ptrace";
  }
  return a;
}

PerfEventAccess probe_perf_event() {
  perf_event_attr a{};
  a.size = sizeof a;
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_CPU_CLOCK;
  a.disabled = 1;
  a.exclude_kernel = 1;
  a.exclude_hv = 1;
  int fd = perf_event_open(&a, 0);
  if (fd < 0) return explain_perf_refusal(errno);
  ::close(fd);
  PerfEventAccess ok;
  ok.allowed = true;
  return ok;
}

struct PerfSampler::Ring {
  pid_t tid = 0;
  ScopedFd fd;
  uint8_t* base = nullptr;
  size_t len = 0;
  ~Ring() {
    if (base) ::munmap(base, len);
  }
};

Result<std::unique_ptr<PerfSampler::Ring>> PerfSampler::open_thread(pid_t tid) {
  perf_event_attr a;
  std::memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.type = PERF_TYPE_SOFTWARE;
  // Per-thread CPU time: a thread is sampled once per 1/hz of CPU it uses.
  a.config = PERF_COUNT_SW_CPU_CLOCK;
  a.sample_period = 1000000000ull / o_.hz;
  a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
  a.sample_regs_user = perf_regs_mask();
  a.sample_stack_user = static_cast<uint32_t>(o_.stack_bytes);
  a.exclude_kernel = kernel_ ? 0 : 1;
  a.exclude_hv = 1;
  a.exclude_callchain_kernel = 1;
  a.enable_on_exec = o_.enable_on_exec ? 1 : 0;
  a.disabled = o_.enable_on_exec ? 1 : 0;
  // Wake the reader when a quarter of the ring is used, not per sample.
  a.watermark = 1;
  a.wakeup_watermark = static_cast<uint32_t>(pages_ * kRingPage / 4);
  int fd = perf_event_open(&a, tid);
  if (fd < 0 && (errno == EACCES || errno == EPERM) && kernel_) {
    // Kernel samples need perf_event_paranoid <= 1 or CAP_PERFMON: user only.
    kernel_ = false;
    a.exclude_kernel = 1;
    fd = perf_event_open(&a, tid);
  }
  if (fd < 0) {
    int e = errno;
    if (e == ESRCH) return Error::sys(errc::kNotFound, e, fmt::format("thread {} exited", tid));
    PerfEventAccess why = explain_perf_refusal(e);
    return Error::sys(e == EACCES || e == EPERM ? errc::kPermission : errc::kInternal, e, why.why,
                      why.hint);
  }
  auto r = std::make_unique<Ring>();
  r->tid = tid;
  r->fd.reset(fd);
  r->len = (pages_ + 1) * kRingPage;
  void* m = ::mmap(nullptr, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    int e = errno;
    return Error::sys(errc::kInternal, e, fmt::format("mmap perf ring: {}", std::strerror(e)),
                      "raise /proc/sys/kernel/perf_event_mlock_kb or profile fewer threads");
  }
  r->base = static_cast<uint8_t*>(m);
  return r;
}

Result<std::unique_ptr<PerfSampler>> PerfSampler::open(pid_t pid, const Options& o) {
  if (o.hz == 0 || o.stack_bytes % 8 || o.stack_bytes >= 65536)
    return Error{errc::kBadArgs, "bad perf sampler options", {}};
  std::unique_ptr<PerfSampler> s(new PerfSampler(pid, o));
  // Many threads share the perf mlock budget: smaller rings for big processes.
  size_t n = proc::list_tids(pid).size();
  s->pages_ = n > 64 ? 16 : n > 16 ? 32 : 64;
  auto r = s->open_thread(pid);
  if (!r) return r.error();
  s->threads_[pid] = std::move(*r);
  return s;
}

PerfSampler::PerfSampler(pid_t pid, const Options& o) : pid_(pid), o_(o) {}
PerfSampler::~PerfSampler() = default;

void PerfSampler::scan_threads(Collector& c) {
  auto tids = proc::list_tids(pid_);
  std::map<pid_t, bool> live;
  for (pid_t t : tids) {
    live[t] = true;
    if (threads_.count(t)) continue;
    auto r = open_thread(t);
    if (r) threads_[t] = std::move(*r);  // ESRCH: gone already; nothing to sample
  }
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (!live.count(it->first) && it->first != pid_) {
      drain(*it->second, c);
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
}

void PerfSampler::poll(int timeout_ms, Collector& c) {
  std::vector<pollfd> fds;
  fds.reserve(threads_.size());
  for (auto& [tid, r] : threads_) fds.push_back({r->fd.get(), POLLIN, 0});
  ::poll(fds.data(), fds.size(), timeout_ms);
  for (auto& [tid, r] : threads_) drain(*r, c);
}

void PerfSampler::drain(Ring& r, Collector& c) {
  auto* meta = reinterpret_cast<perf_event_mmap_page*>(r.base);
  const uint8_t* data = r.base + kRingPage;
  const uint64_t size = pages_ * kRingPage;
  uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = meta->data_tail;
  // Records may wrap around the end of the ring: copy each one out whole.
  auto copy_out = [&](uint64_t pos, void* dst, size_t n) {
    uint64_t off = pos % size;
    size_t first = std::min<size_t>(n, size - off);
    std::memcpy(dst, data + off, first);
    if (first < n) std::memcpy(static_cast<uint8_t*>(dst) + first, data, n - first);
  };
  const size_t nregs = static_cast<size_t>(__builtin_popcountll(perf_regs_mask()));
  while (tail < head) {
    perf_event_header h;
    copy_out(tail, &h, sizeof h);
    if (h.size < sizeof h || h.size > head - tail) break;
    // Read a record in place (the kernel leaves it alone until data_tail
    // moves past it); only one that wraps around the ring end is copied.
    const uint8_t* rec = data + tail % size;
    if (tail % size + h.size > size) {
      rec_.resize(h.size);
      copy_out(tail, rec_.data(), h.size);
      rec = rec_.data();
    }
    tail += h.size;
    const uint8_t* p = rec + sizeof h;
    const uint8_t* end = rec + h.size;
    auto take = [&](void* dst, size_t n) {
      if (static_cast<size_t>(end - p) < n) return false;
      std::memcpy(dst, p, n);
      p += n;
      return true;
    };
    if (h.type == PERF_RECORD_LOST) {
      uint64_t id, lost;
      if (take(&id, 8) && take(&lost, 8)) c.add_lost(lost);
      continue;
    }
    if (h.type != PERF_RECORD_SAMPLE) continue;
    uint64_t ip, abi;
    uint32_t pid_tid[2];
    if (!take(&ip, 8) || !take(pid_tid, 8) || !take(&abi, 8)) continue;
    if (abi == PERF_SAMPLE_REGS_ABI_NONE) continue;  // no user context (kernel thread)
    uint64_t vals[32];
    if (!take(vals, nregs * 8)) continue;
    uint64_t stack_size = 0, dyn_size = 0;
    if (!take(&stack_size, 8)) continue;
    const uint8_t* stack = p;
    if (static_cast<size_t>(end - p) < stack_size + 8) continue;
    p += stack_size;
    take(&dyn_size, 8);
    Snapshot s;
    s.tid = static_cast<pid_t>(pid_tid[1]);
    regs_from_perf(vals, s.regs);
    s.stack_addr = s.regs[kRegSp];
    s.stack = stack;
    s.stack_len = std::min(stack_size, dyn_size);
    bool kernel = (h.misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_KERNEL;
    c.add(s, -1, kernel);
  }
  __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

}  // namespace sonde::profiler
