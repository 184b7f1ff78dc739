// sonde inject's rules as the agent reads them from a request: strace's
// -e inject= syntax plus when=, peer=, path= and friends. Every text gets a
// rule or an Error with a hint; a rule's `when` is well formed and its
// description is built without fault.
#include <cstdint>

#include "fuzz_input.h"
#include "sonde/ptrace/inject.h"

using namespace sonde;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  bool fault = !text.empty() && (static_cast<unsigned char>(text[0]) & 1);
  auto r = ptrace::parse_inject_rule(text, fault);
  if (!r) {
    if (r.error().code != errc::kBadArgs || r.error().hint.empty()) __builtin_trap();
    return 0;
  }
  const auto& w = r->when;
  if (w.first == 0 || w.step == 0 || w.last < w.first) __builtin_trap();
  if (r->error && r->retval) __builtin_trap();
  if (!r->skips_call() && !r->signal && !r->delay_enter_ns && !r->delay_exit_ns) __builtin_trap();
  (void)ptrace::describe(*r);
  (void)w.fires(w.first);
  return 0;
}
