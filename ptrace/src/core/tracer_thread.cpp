#include "sonde/ptrace/tracer_thread.h"

#include <exception>

#include "sonde/common/thread.h"

namespace sonde::ptrace {

Status run_on_tracer_thread(const std::function<Status()>& fn) {
  Status result = ok_status();
  std::exception_ptr thrown;
  auto t = start_thread("the tracer thread", [&] {
    try {
      result = fn();
    } catch (...) {
      thrown = std::current_exception();
    }
  });
  if (!t) return t.error();
  t->join();
  if (thrown) std::rethrow_exception(thrown);
  return result;
}

}  // namespace sonde::ptrace
