// Checked reading of JSON that came from the other side of the wire: a
// request's args in the agent, a result or an event in the controller.
// nlohmann's get<>(), value() and operator[] throw (or assert) on a wrong
// type; a peer of another version, or a hostile one, must instead get an
// Error that names the field. Every op contract (args and result structs
// with to_json/from_json) reads through JsonReader.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde {

// What a controller says when an agent's answer does not read: the usual
// cause is two sonde builds that do not match.
inline constexpr const char* kPeerMismatchHint =
    "the agent does not answer as this controller expects (another sonde version, or not a "
    "sonde agent): run the sonde-agent built with this sonde (--agent PATH)";

// Where a field sits ("per_process[3].total.calls"), kept as pointers and
// numbers and formatted only when something is wrong: readers walk
// documents of 10^5 elements and most reads succeed. Keys must outlive the
// path (string literals). Deeper than kMaxDepth levels shows as "…".
class JsonPath {
 public:
  static constexpr size_t kMaxDepth = 6;

  JsonPath operator/(const char* key) const { return push({key, kNoIndex}); }
  JsonPath operator[](size_t index) const { return push({nullptr, index}); }
  std::string str() const;

 private:
  static constexpr size_t kNoIndex = std::numeric_limits<size_t>::max();
  struct Seg {
    const char* key = nullptr;
    size_t index = kNoIndex;
  };
  JsonPath push(Seg s) const {
    JsonPath p = *this;
    if (p.n_ < kMaxDepth) p.segs_[p.n_] = s;
    ++p.n_;
    return p;
  }
  std::array<Seg, kMaxDepth> segs_{};
  size_t n_ = 0;
};

enum class Need : uint8_t { kOptional, kRequired };

// Collects the first problem; reads after it are no-ops, so a from_json can
// read straight through and check once at the end. A missing or null field
// leaves the output at its default unless it is Need::kRequired.
class JsonReader {
 public:
  // Errors are `code` with "<what>: <path>: <why>" and `hint`.
  JsonReader(const char* code, std::string what, std::string hint = {})
      : code_(code), what_(std::move(what)), hint_(std::move(hint)) {}
  // A request's args, read by the agent: errc::kBadArgs.
  static JsonReader args(std::string_view op);
  // A result or event read by the controller: errc::kProtocol, with the
  // mismatch hint.
  static JsonReader reply(std::string_view op, std::string_view kind = "result");

  bool failed() const { return error_.has_value(); }
  const Error& error() const { return *error_; }
  // ok, or the first error.
  Status status() const;
  void fail(const JsonPath& at, const std::string& why);

  // True when j is a map; otherwise fails naming `at`.
  bool object(const json& j, const JsonPath& at);
  // The field, or nullptr when it is missing or null (and, when required,
  // fails naming it). Never fails on the field's type.
  const json* field(const json& o, const char* key, const JsonPath& at,
                    Need need = Need::kOptional);

  template <typename T>
  void integer(const json& o, const char* key, const JsonPath& at, T& out,
               Need need = Need::kOptional) {
    if (const json* v = failed() ? nullptr : field(o, key, at, need))
      integer_value(*v, at / key, out);
  }
  // An integer that may be absent: out stays nullopt when it is missing or
  // null.
  template <typename T>
  void integer(const json& o, const char* key, const JsonPath& at, std::optional<T>& out) {
    optional(o, key, at, out);
  }
  // A number in range of T, from an integer of either sign; at names it.
  template <typename T>
  void integer_value(const json& v, const JsonPath& at, T& out) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    if (failed()) return;
    if (v.is_number_unsigned()) {
      auto u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return fail(at, fmt::format("{} is out of range", u));
      out = static_cast<T>(u);
    } else if (v.is_number_integer()) {
      auto s = v.get<int64_t>();
      if constexpr (std::is_unsigned_v<T>) {
        if (s < 0) return fail(at, fmt::format("{} is negative", s));
        if (static_cast<uint64_t>(s) > std::numeric_limits<T>::max())
          return fail(at, fmt::format("{} is out of range", s));
      } else {
        if (s < std::numeric_limits<T>::min() || s > std::numeric_limits<T>::max())
          return fail(at, fmt::format("{} is out of range", s));
      }
      out = static_cast<T>(s);
    } else {
      fail(at, fmt::format("expected an integer, got {}", v.type_name()));
    }
  }
  // Any JSON number (integers too).
  void number(const json& o, const char* key, const JsonPath& at, double& out,
              Need need = Need::kOptional);
  void string(const json& o, const char* key, const JsonPath& at, std::string& out,
              Need need = Need::kOptional);
  // A string that may be absent: out stays nullopt when it is missing or null.
  void string(const json& o, const char* key, const JsonPath& at, std::optional<std::string>& out) {
    optional(o, key, at, out);
  }
  void boolean(const json& o, const char* key, const JsonPath& at, bool& out,
               Need need = Need::kOptional);
  // A field that may be missing or null (out stays nullopt) and otherwise
  // holds a T: a string, a boolean, a double or an integer in range.
  template <typename T>
  void optional(const json& o, const char* key, const JsonPath& at, std::optional<T>& out) {
    if (failed() || !field(o, key, at)) return;
    T v{};
    if constexpr (std::is_same_v<T, std::string>)
      string(o, key, at, v);
    else if constexpr (std::is_same_v<T, bool>)
      boolean(o, key, at, v);
    else if constexpr (std::is_floating_point_v<T>)
      number(o, key, at, v);
    else
      integer(o, key, at, v);
    if (!failed()) out = std::move(v);
  }
  // The array under key, or nullptr when missing (an empty list) or wrong.
  const json* array(const json& o, const char* key, const JsonPath& at,
                    Need need = Need::kOptional);
  // The same, with at most max_items elements: a peer's list must not make
  // the reader build structs without bound.
  const json* bounded_array(const json& o, const char* key, const JsonPath& at, size_t max_items,
                            Need need = Need::kOptional);
  // The map under key, or nullptr when missing or wrong.
  const json* map(const json& o, const char* key, const JsonPath& at, Need need = Need::kOptional);
  void strings(const json& o, const char* key, const JsonPath& at, std::vector<std::string>& out,
               Need need = Need::kOptional);
  template <typename T>
  void integers(const json& o, const char* key, const JsonPath& at, std::vector<T>& out,
                Need need = Need::kOptional) {
    const json* a = array(o, key, at, need);
    if (!a) return;
    out.reserve(a->size());
    for (size_t i = 0; i < a->size() && !failed(); ++i) {
      T v{};
      integer_value((*a)[i], (at / key)[i], v);
      out.push_back(v);
    }
  }

 private:
  const char* code_;
  std::string what_;
  std::string hint_;
  std::optional<Error> error_;
};

// A process state as ps and /proc show it ("S", "R", "?"): one letter on the
// wire. Missing or null leaves out unset.
inline void state_letter(JsonReader& r, const json& o, const char* key, const JsonPath& at,
                         std::optional<char>& out) {
  std::optional<std::string> s;
  r.string(o, key, at, s);
  if (!s) return;
  if (s->size() != 1) return r.fail(at / key, fmt::format("expected one letter, got `{}`", *s));
  out = (*s)[0];
}

}  // namespace sonde
