#include "sonde/common/frame.h"

#include "sonde/common/msgpack_check.h"

namespace sonde {

Result<std::string> encode_frame(const json& message) {
  std::vector<uint8_t> payload = json::to_msgpack(message);
  if (payload.size() > kMaxFrameBytes) {
    std::string what = "message";
    if (message.is_object()) {
      auto k = message.find("kind");
      if (k != message.end() && k->is_string()) what = k->get<std::string>();
    }
    return Error{errc::kTooLarge,
                 fmt::format("{} of {} bytes is over the {} byte frame limit", what, payload.size(),
                             kMaxFrameBytes),
                 {}};
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

namespace {

// MessagePack's length prefixes: fix forms up to 31 (strings) or 15
// (arrays, maps), then 8-, 16- and 32-bit lengths.
size_t str_header(size_t n) {
  return n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}
size_t container_header(size_t n) {
  return n < 16 ? 1 : n < 65536 ? 3 : 5;
}

}  // namespace

size_t wire_size_bound(const json& v) {
  switch (v.type()) {
    case json::value_t::string: {
      size_t n = v.get_ref<const std::string&>().size();
      return str_header(n) + n;
    }
    case json::value_t::binary:
      // bin 8/16/32, or ext with its subtype byte: at most 6 bytes of header.
      return 6 + v.get_binary().size();
    case json::value_t::array: {
      size_t n = container_header(v.size());
      for (const auto& e : v) n += wire_size_bound(e);
      return n;
    }
    case json::value_t::object: {
      size_t n = container_header(v.size());
      for (const auto& [k, e] : v.items())
        n += str_header(k.size()) + k.size() + wire_size_bound(e);
      return n;
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return 9;
    default:  // null, boolean, discarded
      return 1;
  }
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
