// The lock that orders an injection's apply before any undo of it: an
// exclusive flock on its undo record, taken around apply_fault() and
// around every undo. The tc and nft children of an apply inherit the
// locked fd, so the lock lasts until the last of them is gone: an agent
// SIGKILLed mid-apply leaves a child that may still commit its change
// after the watchdog has heard of the death, and the watchdog's undo waits
// for it (the children also get SIGKILL when their agent dies).
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <string>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"

namespace sonde::net::fault {

class RecordLock {
 public:
  // Waits up to timeout_ms. Not held when the record does not exist (no
  // apply began: nothing to order) or the wait ran out.
  static RecordLock acquire(const std::string& path, int timeout_ms) {
    RecordLock l;
    if (path.empty()) return l;
    l.fd_.reset(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!l.fd_.valid()) return l;
    long deadline = monotonic_ms() + timeout_ms;
    while (::flock(l.fd_.get(), LOCK_EX | LOCK_NB) != 0) {
      if ((errno != EWOULDBLOCK && errno != EINTR) || monotonic_ms() >= deadline) {
        l.fd_.reset();
        return l;
      }
      ::usleep(5000);
    }
    return l;
  }
  bool held() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }

 private:
  ScopedFd fd_;
};

}  // namespace sonde::net::fault
