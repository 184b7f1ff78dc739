#include "sonde/ptrace/tracer_thread.h"

#include <exception>
#include <system_error>
#include <thread>

namespace sonde::ptrace {

Status run_on_tracer_thread(const std::function<Status()>& fn) {
  Status result = ok_status();
  std::exception_ptr thrown;
  try {
    std::thread t([&] {
      try {
        result = fn();
      } catch (...) {
        thrown = std::current_exception();
      }
    });
    t.join();
  } catch (const std::system_error& e) {
    return Error{errc::kInternal, std::string("cannot start the tracer thread: ") + e.what(),
                 "the agent is out of threads or memory; retry when the host is less loaded"};
  }
  if (thrown) std::rethrow_exception(thrown);
  return result;
}

}  // namespace sonde::ptrace
