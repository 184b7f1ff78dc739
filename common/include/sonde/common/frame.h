// Framing: a 4-byte big-endian length, then that many bytes of MessagePack.
// The decoder is incremental and never trusts the claimed length: it checks it
// against the limit before waiting for the payload, and its buffer only grows
// with bytes that actually arrived.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sonde/common/result.h"

namespace sonde {

using json = nlohmann::json;

// An optional value as JSON: the value, or null (a fact that could not be
// read goes on the wire as null, not left out).
template <typename T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

inline constexpr size_t kMaxFrameBytes = 16u << 20;  // 16 MiB

namespace errc {
// A message over the frame limit (the other wire codes are in result.h).
inline constexpr const char* kTooLarge = "too_large";
}  // namespace errc
inline constexpr size_t kFrameHeaderBytes = 4;

// What one result may weigh: results that grow with the target (process
// tables, fd lists, thread stacks, attach replies) cap themselves to this and
// say how much they left out, so a frame stays well under kMaxFrameBytes.
inline constexpr size_t kResultBudgetBytes = 8u << 20;  // 8 MiB

// Header + msgpack payload. A payload over the limit is an Error (code
// too_large) that names the size; it never aborts: the content comes from
// the target, and a busy host can always produce more than we planned for.
[[nodiscard]] Result<std::string> encode_frame(const json& message);

// An upper bound of the msgpack bytes `value` encodes to, without encoding
// it: for capping a result while it is built.
size_t wire_size_bound(const json& value);

// Fills a list that grows with the target up to a byte budget. The list's
// own MessagePack header counts, so the whole array's wire_size_bound stays
// within the budget, not only the sum of its elements.
class ListBudget {
 public:
  explicit ListBudget(size_t bytes)
      : left_(bytes > kListHeaderBytes ? bytes - kListHeaderBytes : 0) {}
  // Takes `bytes` for one more element; false, taking nothing, when it does
  // not fit.
  bool take(size_t bytes) {
    if (bytes > left_) return false;
    left_ -= bytes;
    return true;
  }

 private:
  static constexpr size_t kListHeaderBytes = 5;  // array32: the largest header
  size_t left_;
};

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame = kMaxFrameBytes) : max_frame_(max_frame) {}

  void feed(const char* data, size_t len) { buf_.append(data, len); }
  void feed(std::string_view data) { buf_.append(data); }

  // The next complete frame decoded, nullopt when more bytes are needed, or a
  // protocol error (length over the limit, payload that is not msgpack). After
  // an error the stream is unusable: the caller answers and closes.
  Result<std::optional<json>> next();

  // Call at end of stream: an error if a partial frame is pending.
  Status finish() const;

  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
  size_t max_frame_;
  bool failed_ = false;
};

}  // namespace sonde
