// Target strings as users (and scripts, and case journals) pass them:
// parse_ssh_target must answer every one with a target or a clear error.
#include <cstdint>

#include "fuzz_input.h"
#include "transport/ssh_target.h"

using namespace sonde;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto t = controller::parse_ssh_target(std::string(fuzz::as_text(data, size)));
  if (t) {
    if (t->host.empty() || t->port < 0 || t->port > 65535) __builtin_trap();
  } else if (t.error().hint.empty()) {
    __builtin_trap();
  }
  return 0;
}
