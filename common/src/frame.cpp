#include "sonde/common/frame.h"

#include "sonde/common/msgpack_check.h"

#include <cstdio>
#include <cstdlib>

namespace sonde {

std::string encode_frame(const json& message) {
  std::vector<uint8_t> payload = json::to_msgpack(message);
  if (payload.size() > kMaxFrameBytes) {
    std::fprintf(stderr, "sonde: internal error: frame of %zu bytes over the limit\n",
                 payload.size());
    std::abort();
  }
  uint32_t n = static_cast<uint32_t>(payload.size());
  std::string out;
  out.reserve(kFrameHeaderBytes + n);
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  return out;
}

Result<std::optional<json>> FrameDecoder::next() {
  if (failed_) return Error{errc::kProtocol, "stream already failed", {}};
  size_t avail = buf_.size() - pos_;
  if (avail < kFrameHeaderBytes) return std::optional<json>{};
  const auto* h = reinterpret_cast<const uint8_t*>(buf_.data() + pos_);
  size_t len = (size_t{h[0]} << 24) | (size_t{h[1]} << 16) | (size_t{h[2]} << 8) | size_t{h[3]};
  if (len > max_frame_) {
    failed_ = true;
    return Error{errc::kProtocol,
                 fmt::format("frame length {} over the {} byte limit", len, max_frame_),
                 "the peer is not a sonde agent/controller of this version, or the stream "
                 "is corrupted (is something printing to the agent's stdout?)"};
  }
  if (len == 0) {
    failed_ = true;
    return Error{errc::kProtocol, "empty frame", {}};
  }
  if (avail < kFrameHeaderBytes + len) return std::optional<json>{};
  const auto* p = reinterpret_cast<const uint8_t*>(buf_.data() + pos_ + kFrameHeaderBytes);
  // The decoder recurses per nesting level: scan the bytes first (a loop, no
  // recursion) so a hostile frame of nested arrays cannot overflow the stack.
  if (auto shape = check_msgpack(p, len); !shape.ok()) {
    failed_ = true;
    return shape.error();
  }
  json j = json::from_msgpack(p, p + len, /*strict=*/true, /*allow_exceptions=*/false);
  pos_ += kFrameHeaderBytes + len;
  // Compact once the consumed prefix dominates, so the buffer stays bounded.
  if (pos_ > 64 * 1024 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  if (j.is_discarded()) {
    failed_ = true;
    return Error{
        errc::kProtocol, fmt::format("frame of {} bytes is not valid MessagePack", len), {}};
  }
  return std::optional<json>{std::move(j)};
}

Status FrameDecoder::finish() const {
  size_t avail = buf_.size() - pos_;
  if (avail == 0 || failed_) return ok_status();
  if (avail < kFrameHeaderBytes)
    return Error{errc::kProtocol,
                 fmt::format("stream ended inside a frame header ({} of 4 bytes)", avail),
                 {}};
  const auto* h = reinterpret_cast<const uint8_t*>(buf_.data() + pos_);
  size_t len = (size_t{h[0]} << 24) | (size_t{h[1]} << 16) | (size_t{h[2]} << 8) | size_t{h[3]};
  return Error{errc::kProtocol,
               fmt::format("truncated frame: stream ended after {} of {} bytes",
                           avail - kFrameHeaderBytes, len),
               {}};
}

}  // namespace sonde
