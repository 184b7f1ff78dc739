#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>

#include "sonde/ptrace/remote_ptr.h"

namespace sonde::ptrace {

ssize_t read_remote(pid_t pid, RemotePtr<void> from, void* to, size_t len) {
  iovec local{to, len};
  iovec remote{reinterpret_cast<void*>(from.addr()), len};
  return ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

size_t read_remote_pages(pid_t pid, RemotePtr<void> from, void* to, size_t len) {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto* out = static_cast<uint8_t*>(to);
  // One iovec per page: process_vm_readv stops at the first unreadable
  // iovec instead of failing the whole read.
  iovec local[256], remote[256];
  size_t n = 0, want = 0;
  uint64_t addr = from.addr();
  while (want < len && n < std::size(remote)) {
    size_t chunk = std::min<size_t>(page - (addr % page), len - want);
    local[n] = {out + want, chunk};
    remote[n] = {reinterpret_cast<void*>(addr), chunk};
    ++n;
    want += chunk;
    addr += chunk;
  }
  ssize_t got = ::process_vm_readv(pid, local, n, remote, n, 0);
  return got > 0 ? static_cast<size_t>(got) : 0;
}

}  // namespace sonde::ptrace
