// What the net contracts' readers share beyond JsonReader: lists with a
// bound. Every list an agent sends has one on the agent's side (8 addresses,
// 16 certificates, the top flows asked for); a peer that sends more is not
// an agent of this build, and the controller will not allocate for it.
#pragma once

#include <string>
#include <vector>

#include "sonde/common/json_read.h"

namespace sonde::net::contract {

// The array under key (nullptr when missing or wrong), failing naming it
// when it holds more than max items.
inline const json* bounded_array(JsonReader& r, const json& o, const char* key, const JsonPath& at,
                                 size_t max, Need need = Need::kOptional) {
  const json* a = r.array(o, key, at, need);
  if (a && a->size() > max) {
    r.fail(at / key, fmt::format("{} items, at most {} expected", a->size(), max));
    return nullptr;
  }
  return a;
}

inline void bounded_strings(JsonReader& r, const json& o, const char* key, const JsonPath& at,
                            std::vector<std::string>& out, size_t max) {
  if (bounded_array(r, o, key, at, max)) r.strings(o, key, at, out);
}

}  // namespace sonde::net::contract
