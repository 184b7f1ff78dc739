// Lenient reads for the renderers of results that are still JSON (the live
// trace events, and the ops whose results are not typed yet): the field when
// it is there with the right type, else a default, never an exception. They
// read through JsonReader, so lenient and strict readers agree on what a
// field holds; a typed result (ps, inspect, trace's summary) needs none.
#pragma once

#include <optional>
#include <string>

#include "sonde/common/frame.h"
#include "sonde/common/json_read.h"

namespace sonde::render {

namespace json_access_detail {
// A reader whose errors nobody sees: a failed read is just "not there".
inline JsonReader lenient() {
  return JsonReader(errc::kProtocol, {});
}
}  // namespace json_access_detail

// The field under key when j is a map and it is there and not null.
inline const sonde::json* json_field(const sonde::json& j, const char* key) {
  return json_access_detail::lenient().field(j, key, {});
}

// The string under key, or "" when it is missing or not a string.
inline std::string json_str(const sonde::json& j, const char* key) {
  auto r = json_access_detail::lenient();
  std::string s;
  r.string(j, key, {}, s);
  return r.failed() ? std::string() : s;
}

// The integer under key when it is one that fits T.
template <typename T>
std::optional<T> json_int(const sonde::json& j, const char* key) {
  auto r = json_access_detail::lenient();
  std::optional<T> v;
  r.integer(j, key, {}, v);
  return r.failed() ? std::nullopt : v;
}

// The value itself as an integer that fits T (an array's element).
template <typename T>
std::optional<T> json_integer(const sonde::json& v) {
  auto r = json_access_detail::lenient();
  T out{};
  r.integer_value(v, {}, out);
  if (r.failed()) return std::nullopt;
  return out;
}

// The number under key, or fallback.
inline double json_number(const sonde::json& j, const char* key, double fallback = 0) {
  auto r = json_access_detail::lenient();
  double v = fallback;
  r.number(j, key, {}, v);
  return r.failed() ? fallback : v;
}

// The boolean under key, or fallback.
inline bool json_bool(const sonde::json& j, const char* key, bool fallback = false) {
  auto r = json_access_detail::lenient();
  bool v = fallback;
  r.boolean(j, key, {}, v);
  return r.failed() ? fallback : v;
}

// The array under key, or an empty one.
inline const sonde::json& json_array(const sonde::json& j, const char* key) {
  static const sonde::json empty = sonde::json::array();
  auto r = json_access_detail::lenient();
  const sonde::json* a = r.array(j, key, {});
  return a ? *a : empty;
}

}  // namespace sonde::render
