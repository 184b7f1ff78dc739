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

// The list of maps under key, bounded like bounded_array, each read into a
// T by read(r, item, path, T&); reading stops at the first failure.
template <typename T, typename Read>
void read_list(JsonReader& r, const json& o, const char* key, const JsonPath& at, size_t max,
               std::vector<T>& out, Read read, Need need = Need::kOptional) {
  const json* a = bounded_array(r, o, key, at, max, need);
  if (!a) return;
  out.reserve(a->size());
  for (size_t i = 0; i < a->size() && !r.failed(); ++i) {
    JsonPath w = (at / key)[i];
    if (!r.object((*a)[i], w)) break;
    T item;
    read(r, (*a)[i], w, item);
    out.push_back(std::move(item));
  }
}

}  // namespace sonde::net::contract
