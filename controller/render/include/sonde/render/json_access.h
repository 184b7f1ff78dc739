// Tolerant reads of agent results for the renderers: results may come from
// agents of other versions, and the const operator[] would read past the end
// of the map for a key the agent left out.
#pragma once

#include <string>

#include "sonde/common/frame.h"

namespace sonde::render {

// The string under key, or "" when it is missing or not a string.
inline std::string json_str(const sonde::json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// The object under key, or an empty one.
inline const sonde::json& json_object(const sonde::json& j, const char* key) {
  static const sonde::json empty = sonde::json::object();
  if (!j.is_object()) return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

// The array under key, or an empty one.
inline const sonde::json& json_array(const sonde::json& j, const char* key) {
  static const sonde::json empty = sonde::json::array();
  if (!j.is_object()) return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : empty;
}

}  // namespace sonde::render
