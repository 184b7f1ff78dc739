// A reader the proc contracts share beyond JsonReader's own: one-letter
// process states.
#pragma once

#include <optional>
#include <string>

#include "sonde/common/json_read.h"

namespace sonde::proc {

// A state as ps shows it ("S", "R"): one letter on the wire.
inline void state_letter(JsonReader& r, const json& o, const char* key, const JsonPath& at,
                         std::optional<char>& out) {
  std::optional<std::string> s;
  r.string(o, key, at, s);
  if (!s) return;
  if (s->size() != 1) return r.fail(at / key, fmt::format("expected one letter, got `{}`", *s));
  out = (*s)[0];
}

}  // namespace sonde::proc
