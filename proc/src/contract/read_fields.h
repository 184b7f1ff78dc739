// Readers the proc contracts share beyond JsonReader's own: fields that may
// be absent (std::optional) and one-letter process states.
#pragma once

#include <optional>
#include <string>

#include "sonde/common/json_read.h"

namespace sonde::proc {

template <typename T>
void optional_integer(JsonReader& r, const json& o, const char* key, const JsonPath& at,
                      std::optional<T>& out) {
  if (const json* v = r.failed() ? nullptr : r.field(o, key, at)) {
    T n{};
    r.integer_value(*v, at / key, n);
    if (!r.failed()) out = n;
  }
}

inline void optional_string(JsonReader& r, const json& o, const char* key, const JsonPath& at,
                            std::optional<std::string>& out) {
  if (!r.failed() && r.field(o, key, at)) {
    std::string s;
    r.string(o, key, at, s);
    if (!r.failed()) out = std::move(s);
  }
}

// A state as ps shows it ("S", "R"): one letter on the wire.
inline void state_letter(JsonReader& r, const json& o, const char* key, const JsonPath& at,
                         std::optional<char>& out) {
  std::optional<std::string> s;
  optional_string(r, o, key, at, s);
  if (!s) return;
  if (s->size() != 1) return r.fail(at / key, fmt::format("expected one letter, got `{}`", *s));
  out = (*s)[0];
}

}  // namespace sonde::proc
