// The parts of the gdbserver service its two files share.
#pragma once

#include <sys/types.h>

#include "sonde/common/fd.h"
#include "sonde/common/result.h"
#include "sonde/common/undo.h"
#include "sonde/debug/gdbserver.h"

namespace sonde::debug {

// The process's state letter from /proc/PID/stat, '?' when it is gone.
char process_state(pid_t pid);

// The socket directory of one serve_gdbserver, removed with it.
class SocketDir {
 public:
  ~SocketDir() { remove(); }
  const DebugSocketDir& where() const { return d_; }
  void remove() {
    if (!d_.dir.empty()) remove_debug_socket_dir(d_.dir);
    d_.dir.clear();
    undo_.forget();
  }

  Result<ScopedFd> listen(bool via_sudo);

 private:
  DebugSocketDir d_;
  undo::Change undo_;
};

}  // namespace sonde::debug
