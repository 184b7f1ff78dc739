// gdb on this machine on a forwarded gdbserver port (`sonde debug --gdb`),
// with the terminal, while the caller's thread keeps forwarding. Ctrl-C
// belongs to gdb (it interrupts the target), so SIGINT is ignored here until
// gdb exits.
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "sonde/common/result.h"
#include "sonde/common/subprocess.h"

namespace sonde::debug {

class LocalGdb {
 public:
  // gdb -q -ex 'target remote localhost:PORT' EXTRA...
  Status start(int port, const std::vector<std::string>& extra);
  bool exited();
  ~LocalGdb();

 private:
  void restore();
  Child gdb_;
  sighandler_t old_ = SIG_ERR;
};

}  // namespace sonde::debug
