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

inline constexpr size_t kMaxFrameBytes = 16u << 20;  // 16 MiB
inline constexpr size_t kFrameHeaderBytes = 4;

// Header + msgpack payload. Aborts if the payload exceeds the limit: senders
// chunk big data (pcap, jfr) into events, so that is an internal bug.
std::string encode_frame(const json& message);

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
