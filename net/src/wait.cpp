#include "wait.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include "sonde/common/io.h"

namespace sonde::net {

int wait_fd(int fd, short events, long deadline_ms, CancelToken* cancel) {
  for (;;) {
    if (cancel && cancel->cancelled()) return -1;
    long left = deadline_ms - monotonic_ms();
    if (left <= 0) return 0;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min(left, 100L)));
    if (rc > 0) return 1;
    if (rc < 0 && errno != EINTR) return -2;
  }
}

}  // namespace sonde::net
