// Waiting on one socket with a deadline, for the checks in net/: poll in
// slices of at most 100 ms so a cancel is seen promptly.
#pragma once

#include "sonde/common/cancel.h"

namespace sonde::net {

// deadline_ms is a sonde::monotonic_ms() value. 1: ready, 0: the deadline
// passed, -1: cancelled, -2: poll failed.
int wait_fd(int fd, short events, long deadline_ms, CancelToken* cancel);

}  // namespace sonde::net
