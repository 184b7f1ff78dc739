// An address in a tracee, typed by what it points at, so a remote address is
// never mistaken for one of ours or for a plain number.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace sonde::ptrace {

template <typename T>
class RemotePtr {
 public:
  constexpr RemotePtr() = default;
  constexpr explicit RemotePtr(uint64_t addr) : addr_(addr) {}
  // Any typed pointer converts to an untyped one, as T* converts to void*.
  template <typename U, typename = std::enable_if_t<std::is_void_v<T> && !std::is_void_v<U>>>
  constexpr RemotePtr(RemotePtr<U> p) : addr_(p.addr()) {}  // NOLINT: implicit like T* -> void*

  constexpr uint64_t addr() const { return addr_; }
  constexpr bool null() const { return addr_ == 0; }
  constexpr explicit operator bool() const { return addr_ != 0; }
  // Bytes forward (an untyped pointer has no element size).
  constexpr RemotePtr byte_offset(uint64_t n) const { return RemotePtr(addr_ + n); }
  template <typename U>
  constexpr RemotePtr<U> cast() const {
    return RemotePtr<U>(addr_);
  }
  friend constexpr bool operator==(RemotePtr a, RemotePtr b) { return a.addr_ == b.addr_; }

 private:
  uint64_t addr_ = 0;
};

// Copies up to len bytes at `from` in pid's memory with one process_vm_readv.
// Returns the bytes copied (short at the end of a mapping), or -1 with errno
// (ESRCH: the process is gone; EFAULT: nothing mapped at `from`).
ssize_t read_remote(pid_t pid, RemotePtr<void> from, void* to, size_t len);

// Like read_remote, but a page at a time in one call: it copies up to the
// first unreadable page instead of failing whole when the range runs off a
// mapping (a stack copy that reaches past the stack's end). At most 256
// pages; returns the bytes copied, 0 when none.
size_t read_remote_pages(pid_t pid, RemotePtr<void> from, void* to, size_t len);

// Reads one T (trivially copyable). False unless every byte came.
template <typename T>
bool read_remote(pid_t pid, RemotePtr<T> from, T* to) {
  static_assert(std::is_trivially_copyable_v<T>);
  return read_remote(pid, RemotePtr<void>(from), to, sizeof(T)) == static_cast<ssize_t>(sizeof(T));
}

}  // namespace sonde::ptrace
