#include "sonde/common/thread.h"

namespace sonde {

Error thread_error(const std::string& what, const std::system_error& e) {
  int err = e.code().category() == std::generic_category() ||
                    e.code().category() == std::system_category()
                ? e.code().value()
                : 0;
  return Error::sys(errc::kExhausted, err, "cannot start " + what + ": " + e.what(),
                    no_task_hint());
}

std::string no_task_hint() {
  return "the host gave no process or thread: the user is at its process limit (`ulimit -u`), "
         "the host at kernel.threads-max, or out of memory; retry when it is less loaded";
}

}  // namespace sonde
