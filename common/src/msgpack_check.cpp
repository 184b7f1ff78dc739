#include "sonde/common/msgpack_check.h"

#include <array>

namespace sonde {
namespace {

// Bytes after the type byte for the fixed-size types 0xca..0xd8: float 32/64,
// uint 8..64, int 8..64, fixext 1..16 (a type byte, then the data).
constexpr uint8_t kFixedPayload[] = {4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 2, 3, 5, 9, 17};

uint64_t read_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Status check_msgpack(const uint8_t* data, size_t len, int max_depth) {
  auto fail = [&](size_t at, const std::string& what) {
    return Error{
        errc::kProtocol,
        fmt::format("frame of {} bytes is not valid MessagePack: {} at byte {}", len, what, at),
        "the peer is not a sonde agent/controller of this version, or the stream is "
        "corrupted"};
  };
  if (max_depth < 0 || max_depth > 1024) max_depth = kMaxMsgpackDepth;
  // pending[d]: items still to read in the container open at depth d+1.
  // Level 0 is the frame itself, which holds exactly one object.
  std::array<uint64_t, 1025> pending{};
  int depth = 0;
  pending[0] = 1;
  size_t pos = 0;
  while (true) {
    // Close every container whose items are all read.
    while (depth > 0 && pending[depth] == 0) --depth;
    if (pending[depth] == 0) break;  // depth 0: the one top-level object is read
    if (pos >= len) return fail(pos, "truncated (more items announced than bytes sent)");
    --pending[depth];
    const size_t at = pos;
    const uint8_t b = data[pos++];
    const size_t left = len - pos;
    // Bytes of payload that follow the type byte and its length field.
    uint64_t skip = 0;
    // Items of a container that opens here (maps: keys and values).
    uint64_t items = 0;
    bool container = false;
    auto need = [&](size_t n) { return left >= n; };
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xc0 && b <= 0xc3 && b != 0xc1)) {
      // fixint, negative fixint, nil, false, true
    } else if (b >= 0x80 && b <= 0x8f) {
      container = true;
      items = uint64_t{b & 0x0fu} * 2;
    } else if (b >= 0x90 && b <= 0x9f) {
      container = true;
      items = b & 0x0fu;
    } else if (b >= 0xa0 && b <= 0xbf) {
      skip = b & 0x1fu;
    } else {
      switch (b) {
        case 0xc1:
          return fail(at, "reserved type byte 0xc1");
        case 0xc4:  // bin 8/16/32
        case 0xc5:
        case 0xc6:
        case 0xd9:  // str 8/16/32
        case 0xda:
        case 0xdb: {
          size_t n = (b == 0xc4 || b == 0xd9) ? 1 : (b == 0xc5 || b == 0xda) ? 2 : 4;
          if (!need(n)) return fail(at, "truncated length");
          skip = read_be(data + pos, n);
          pos += n;
          break;
        }
        case 0xc7:  // ext 8/16/32: length, then a type byte, then the data
        case 0xc8:
        case 0xc9: {
          size_t n = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
          if (!need(n)) return fail(at, "truncated length");
          skip = read_be(data + pos, n) + 1;
          pos += n;
          break;
        }
        case 0xca:  // float 32/64, uint 8..64, int 8..64, fixext 1..16
        case 0xcb:
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3:
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          skip = kFixedPayload[b - 0xca];
          break;
        case 0xdc:  // array 16/32
        case 0xdd:
        case 0xde:  // map 16/32
        case 0xdf: {
          size_t n = (b == 0xdc || b == 0xde) ? 2 : 4;
          if (!need(n)) return fail(at, "truncated length");
          items = read_be(data + pos, n);
          if (b >= 0xde) items *= 2;
          pos += n;
          container = true;
          break;
        }
        default:
          return fail(at, fmt::format("unknown type byte {:#04x}", b));
      }
    }
    if (skip > len - pos) return fail(at, "truncated (a length longer than the bytes left)");
    pos += skip;
    if (container) {
      // Every item takes at least one byte: a count beyond the bytes left is a
      // lie, refused before anything trusts it.
      if (items > len - pos) return fail(at, "truncated (more items announced than bytes sent)");
      if (depth + 1 > max_depth)
        return fail(at, fmt::format("nested deeper than {} levels", max_depth));
      pending[++depth] = items;
    }
  }
  if (pos != len) return fail(pos, fmt::format("{} bytes after the end of the message", len - pos));
  return ok_status();
}

}  // namespace sonde
