// Signal and sleep syscalls: rt_sigaction, rt_sigprocmask, rt_sigreturn,
// sigaltstack, rt_sigsuspend, nanosleep, clock_nanosleep, clock_gettime; and
// the signal names of their arguments (sonde/common/signals.h).
#include <asm/unistd_64.h>

#include <bit>

#include <fmt/format.h>

#include "decode_internal.h"
#include "sonde/common/signals.h"

namespace sonde::ptrace {
namespace detail {
namespace {

constexpr Named kSaFlags[] = {
    {0x1, "SA_NOCLDSTOP"},        {0x2, "SA_NOCLDWAIT"},        {0x4, "SA_SIGINFO"},
    {0x400, "SA_UNSUPPORTED"},    {0x800, "SA_EXPOSE_TAGBITS"}, {0x04000000, "SA_RESTORER"},
    {0x08000000, "SA_ONSTACK"},   {0x10000000, "SA_RESTART"},   {0x40000000, "SA_NODEFER"},
    {0x80000000, "SA_RESETHAND"},
};
constexpr Named kHow[] = {{0, "SIG_BLOCK"}, {1, "SIG_UNBLOCK"}, {2, "SIG_SETMASK"}};
constexpr Named kSsFlags[] = {{1, "SS_ONSTACK"}, {2, "SS_DISABLE"}, {0x80000000, "SS_AUTODISARM"}};
constexpr Named kClocks[] = {
    {0, "CLOCK_REALTIME"},          {1, "CLOCK_MONOTONIC"},     {2, "CLOCK_PROCESS_CPUTIME_ID"},
    {3, "CLOCK_THREAD_CPUTIME_ID"}, {4, "CLOCK_MONOTONIC_RAW"}, {5, "CLOCK_REALTIME_COARSE"},
    {6, "CLOCK_MONOTONIC_COARSE"},  {7, "CLOCK_BOOTTIME"},      {8, "CLOCK_REALTIME_ALARM"},
    {9, "CLOCK_BOOTTIME_ALARM"},    {11, "CLOCK_TAI"},
};
constexpr Named kTimerFlags[] = {{1, "TIMER_ABSTIME"}};

// The kernel's struct sigaction on x86-64 (not glibc's).
struct KSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

std::string mask_text(uint64_t mask) {
  // Mostly-full sets read better as a complement: ~[RTMIN RT_1].
  bool invert = std::popcount(mask) > 32;
  if (invert) mask = ~mask;
  std::string out = invert ? "~[" : "[";
  bool first = true;
  for (int sig = 1; sig <= 64; ++sig) {
    if (!((mask >> (sig - 1)) & 1)) continue;
    if (!first) out += ' ';
    first = false;
    out += signal_name(sig) + 3;  // without "SIG"
  }
  return out + "]";
}

std::string sigaction_text(Call& c, uint64_t addr) {
  KSigaction sa;
  if (addr == 0) return "NULL";
  if (!c.read_obj(addr, sa)) return ptr_text(addr);
  std::string h = sa.handler == 0 ? "SIG_DFL" : sa.handler == 1 ? "SIG_IGN" : hex(sa.handler);
  std::string out = "{sa_handler=" + h + ", sa_mask=" + mask_text(sa.mask) +
                    ", sa_flags=" + flags_text(sa.flags, kSaFlags);
  if (sa.flags & 0x04000000) out += ", sa_restorer=" + ptr_text(sa.restorer);
  return out + "}";
}

// Output structs of a call (oldact, oldset, rem): only after success.
bool output_ready(const Call& c) {
  return c.succeeded();
}

}  // namespace

std::string signal_text(uint64_t sig) {
  if (sig <= 64) {
    if (const char* n = signal_name(static_cast<int>(sig))) return n;
  }
  return std::to_string(static_cast<int64_t>(sig));
}

std::string sigset_text(Call& c, uint64_t addr, uint64_t size) {
  if (addr == 0) return "NULL";
  if (size != 8) return ptr_text(addr);
  uint64_t mask = 0;
  if (!c.read_obj(addr, mask)) return ptr_text(addr);
  return mask_text(mask);
}

std::string timespec_text(Call& c, uint64_t addr) {
  struct {
    int64_t sec;
    int64_t nsec;
  } ts;
  if (addr == 0) return "NULL";
  if (!c.read_obj(addr, ts)) return ptr_text(addr);
  return fmt::format("{{tv_sec={}, tv_nsec={}}}", ts.sec, ts.nsec);
}

bool decode_signal(Call& c) {
  switch (c.nr()) {
    case __NR_rt_sigaction:
      c.add("signum", c.arg(0), signal_text(c.arg(0)));
      c.add("act", c.arg(1), sigaction_text(c, c.arg(1)));
      c.add("oldact", c.arg(2), output_ready(c) ? sigaction_text(c, c.arg(2)) : ptr_text(c.arg(2)));
      c.ulong("sigsetsize", 3);
      return true;
    case __NR_rt_sigprocmask:
      c.enumv("how", 0, kHow, "SIG_");
      c.add("set", c.arg(1), sigset_text(c, c.arg(1), c.arg(3)));
      c.add("oldset", c.arg(2),
            output_ready(c) ? sigset_text(c, c.arg(2), c.arg(3)) : ptr_text(c.arg(2)));
      c.ulong("sigsetsize", 3);
      return true;
    case __NR_rt_sigsuspend:
      c.add("mask", c.arg(0), sigset_text(c, c.arg(0), c.arg(1)));
      c.ulong("sigsetsize", 1);
      return true;
    case __NR_rt_sigpending:
      c.add("set", c.arg(0),
            output_ready(c) ? sigset_text(c, c.arg(0), c.arg(1)) : ptr_text(c.arg(0)));
      c.ulong("sigsetsize", 1);
      return true;
    case __NR_rt_sigreturn:
      // strace shows the restored mask from the signal frame on the stack;
      // we do not have the stack pointer here.
      return true;
    case __NR_sigaltstack: {
      auto stack_text = [&](uint64_t addr) {
        struct {
          uint64_t sp;
          int32_t flags;
          int32_t pad;
          uint64_t size;
        } ss;
        if (addr == 0) return std::string("NULL");
        if (!c.read_obj(addr, ss)) return ptr_text(addr);
        return fmt::format("{{ss_sp={}, ss_flags={}, ss_size={}}}", ptr_text(ss.sp),
                           flags_text(static_cast<uint32_t>(ss.flags), kSsFlags), ss.size);
      };
      c.add("ss", c.arg(0), stack_text(c.arg(0)));
      c.add("old_ss", c.arg(1), output_ready(c) ? stack_text(c.arg(1)) : ptr_text(c.arg(1)));
      return true;
    }
    case __NR_nanosleep:
      c.add("req", c.arg(0), timespec_text(c, c.arg(0)));
      // rem is written only when a signal cut the sleep short.
      c.add("rem", c.arg(1), c.ret() == -4 ? timespec_text(c, c.arg(1)) : ptr_text(c.arg(1)));
      return true;
    case __NR_clock_nanosleep:
      c.enumv("clockid", 0, kClocks, "CLOCK_");
      c.flags("flags", 1, kTimerFlags);
      c.add("request", c.arg(2), timespec_text(c, c.arg(2)));
      c.add("remain", c.arg(3), c.ret() == -4 ? timespec_text(c, c.arg(3)) : ptr_text(c.arg(3)));
      return true;
    case __NR_clock_gettime:
    case __NR_clock_getres:
      c.enumv("clockid", 0, kClocks, "CLOCK_");
      c.add("tp", c.arg(1), output_ready(c) ? timespec_text(c, c.arg(1)) : ptr_text(c.arg(1)));
      return true;
    default:
      return false;
  }
}

}  // namespace detail
}  // namespace sonde::ptrace
