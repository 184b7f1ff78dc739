// A structural pre-scan of MessagePack bytes before anything decodes them.
// The decoder (nlohmann::json::from_msgpack) recurses once per nesting level,
// so a peer that sends two million nested arrays in a few megabytes would
// overflow our stack. This scan walks the same bytes with a loop and a fixed
// stack of counters: every type byte, every length against the bytes that are
// left, and the nesting depth. Only bytes that pass are handed to the decoder.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sonde/common/result.h"

namespace sonde {

// Deeper than any message sonde sends (a result map holds lists of maps of
// lists, a handful of levels), shallow enough for any stack.
inline constexpr int kMaxMsgpackDepth = 64;

// Ok when [data, data+len) holds exactly one MessagePack object whose
// containers nest at most max_depth deep (a top-level map is depth 1).
// Otherwise an errc::kProtocol error that says what is wrong and at which
// byte offset. Never allocates in proportion to the input.
Status check_msgpack(const uint8_t* data, size_t len, int max_depth = kMaxMsgpackDepth);

}  // namespace sonde
