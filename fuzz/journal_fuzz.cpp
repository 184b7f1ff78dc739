// The case journal as load_journal reads it: a file people edit and a crash
// cuts short. Each line that parses goes through entry_from_json, which must
// answer with an Entry or an Error and never throw; an Entry must write and
// read back as itself. Its times, and the input as a note's --at, go through
// the one time parser.
#include <cstdint>

#include "case/entry.h"
#include "case/times.h"
#include "fuzz_input.h"

using namespace sonde;
using namespace sonde::controller::casefile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  for (auto line : fuzz::lines(text)) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) continue;
    auto e = entry_from_json(j, "journal.jsonl line 1");
    if (!e.ok()) continue;
    json written = to_json(*e);
    auto again = entry_from_json(json::parse(written.dump()), "journal.jsonl line 1");
    if (!again.ok() || to_json(*again) != written) __builtin_trap();
    (void)parse_time_ms(e->at, BareTime::kUtc);
    (void)parse_time_ms(e->ts, BareTime::kLocal);
  }
  (void)parse_note_time(std::string(text.substr(0, 256)), 1795600800);
  return 0;
}
