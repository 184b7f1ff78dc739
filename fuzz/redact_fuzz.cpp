// Secret masking, run on everything the case journal stores: the input as
// text (lines of any length), as a command line (argv split on NUL) and,
// when it parses, as a JSON result.
#include <cstdint>

#include "case/redact.h"
#include "fuzz_input.h"

using namespace sonde;
using namespace sonde::controller::casefile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(fuzz::as_text(data, size));
  int count = 0;
  std::string out = redact_text(text, &count);
  // Masking only ever replaces a secret with "***": nothing masked, nothing changed.
  if (count == 0 && out != text) __builtin_trap();

  json argv = json::array();
  size_t p = 0;
  while (p <= text.size()) {
    size_t e = text.find('\0', p);
    if (e == std::string::npos) e = text.size();
    argv.push_back(text.substr(p, e - p));
    p = e + 1;
  }
  (void)redact_argv(argv, &count);

  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) (void)redact_json(j, &count);
  return 0;
}
