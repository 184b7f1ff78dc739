#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "tracer_internal.h"

namespace sonde::ptrace {

// A filter on a non-x86-64 ABI (32-bit int 0x80) traces everything.
std::vector<sock_filter> build_seccomp_filter(const std::vector<bool>& want) {
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
  if (f.size() > 250) f.clear();  // jump offsets are 8-bit
  return f;
}

}  // namespace sonde::ptrace
