#include "snapshot.h"

#include <algorithm>

#include "sonde/ptrace/remote_ptr.h"

namespace sonde::profiler {
namespace {

// PERF_REG_X86_* numbers (asm/perf_regs.h), kept here so the order is
// explicit: AX BX CX DX SI DI BP SP IP FLAGS CS SS DS ES FS GS R8..R15.
enum PerfReg {
  kAx = 0,
  kBx,
  kCx,
  kDx,
  kSi,
  kDi,
  kBp,
  kSp,
  kIp,
  kFlags,
  kCs,
  kSs,
  kDs,
  kEs,
  kFs,
  kGs,
  kR8,
  kR9,
  kR10,
  kR11,
  kR12,
  kR13,
  kR14,
  kR15,
};
// The registers the unwinder may need, in ascending PERF_REG order. Segment
// registers other than CS/SS are refused by the kernel on x86-64.
constexpr PerfReg kWanted[] = {kAx, kBx, kCx,  kDx,  kSi,  kDi,  kBp,  kSp, kIp,
                               kR8, kR9, kR10, kR11, kR12, kR13, kR14, kR15};
// Where each wanted register goes in libunwind's numbering.
constexpr int kToUnw[] = {0, 3, 2, 1, 4, 5, 6, 7, 16, 8, 9, 10, 11, 12, 13, 14, 15};

}  // namespace

void regs_from_user(const user_regs_struct& u, uint64_t out[kRegCount]) {
  out[0] = u.rax;
  out[1] = u.rdx;
  out[2] = u.rcx;
  out[3] = u.rbx;
  out[4] = u.rsi;
  out[5] = u.rdi;
  out[6] = u.rbp;
  out[7] = u.rsp;
  out[8] = u.r8;
  out[9] = u.r9;
  out[10] = u.r10;
  out[11] = u.r11;
  out[12] = u.r12;
  out[13] = u.r13;
  out[14] = u.r14;
  out[15] = u.r15;
  out[16] = u.rip;
}

uint64_t perf_regs_mask() {
  uint64_t m = 0;
  for (auto r : kWanted) m |= uint64_t{1} << r;
  return m;
}

void regs_from_perf(const uint64_t* values, uint64_t out[kRegCount]) {
  for (size_t i = 0; i < std::size(kWanted); ++i) out[kToUnw[i]] = values[i];
}

size_t copy_stack(pid_t tid, uint64_t sp, size_t max, StackBuffer& buf) {
  return ptrace::read_remote_pages(tid, ptrace::RemotePtr<void>(sp), buf.reserve(max), max);
}

long blocked_syscall(const user_regs_struct& u) {
  auto orig = static_cast<long>(u.orig_rax);
  auto ret = static_cast<long>(u.rax);
  // ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK: the
  // syscall was interrupted (by our stop) and will restart on resume.
  if (orig >= 0 && (ret == -512 || ret == -513 || ret == -514 || ret == -516)) return orig;
  return -1;
}

}  // namespace sonde::profiler
