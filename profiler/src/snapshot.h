// A thread's user registers and a copy of the top of its stack: all the
// unwinder needs, taken while the thread is stopped (ptrace) or by the kernel
// at the sample (perf_event), and unwound after the thread runs again.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace sonde::profiler {

// libunwind's x86-64 register numbers: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip.
inline constexpr int kRegCount = 17;
inline constexpr int kRegSp = 7;
inline constexpr int kRegIp = 16;
inline constexpr int kRegBp = 6;

struct Snapshot {
  pid_t tid = 0;
  uint64_t regs[kRegCount] = {};
  uint64_t stack_addr = 0;  // address of stack[0] (= sp when copied)
  const uint8_t* stack = nullptr;
  size_t stack_len = 0;
};

void regs_from_user(const user_regs_struct& u, uint64_t out[kRegCount]);

// perf's x86 register order (PERF_REG_X86_*) for the registers we request.
uint64_t perf_regs_mask();
// Fills out[] from the values perf wrote for perf_regs_mask(), in bit order.
void regs_from_perf(const uint64_t* values, uint64_t out[kRegCount]);

// Scratch memory for stack copies, never zero-filled: only the pages a copy
// writes are touched, so a 512 KiB buffer costs what the stack really uses,
// and nothing is cleared while the thread waits stopped.
class StackBuffer {
 public:
  uint8_t* reserve(size_t n) {
    if (n > cap_) {
      p_.reset(new uint8_t[n]);
      cap_ = n;
    }
    return p_.get();
  }
  const uint8_t* data() const { return p_.get(); }

 private:
  std::unique_ptr<uint8_t[]> p_;
  size_t cap_ = 0;
};

// Copies up to max bytes of tid's memory from sp upwards into out, page by
// page so an unmapped page ends the copy instead of failing it. Returns the
// bytes copied (0 when nothing was readable).
size_t copy_stack(pid_t tid, uint64_t sp, size_t max, StackBuffer& out);

// A thread stopped in a blocking syscall: the syscall number, or -1. The
// kernel leaves orig_rax = nr and rax = -ERESTART* while it waits.
long blocked_syscall(const user_regs_struct& u);

}  // namespace sonde::profiler
