// The agent's input path: bytes from the controller through FrameDecoder
// (fed in uneven chunks, as reads return them), each frame through
// parse_message, and the replies the server's loop sends for it. The
// dispatch itself starts a thread per request and real work on the host, so
// it stops at the reply the loop itself writes. The first input byte sets
// the chunk size.
#include <cstdint>
#include <cstdlib>

#include "fuzz_input.h"
#include "sonde/common/frame.h"
#include "sonde/common/protocol.h"

using namespace sonde;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = data[0] == 0 ? size : data[0];
  std::string_view in = fuzz::as_text(data + 1, size - 1);
  FrameDecoder dec;
  for (size_t off = 0; off < in.size() || off == 0; off += chunk) {
    dec.feed(in.substr(off, chunk));
    for (;;) {
      auto frame = dec.next();
      if (!frame.ok()) {
        (void)encode_frame(make_error(0, frame.error()));
        return 0;
      }
      if (!frame->has_value()) break;
      const json& j = **frame;
      auto msg = parse_message(j);
      if (!msg.ok()) {
        (void)encode_frame(make_error(0, msg.error()));
        continue;
      }
      switch (msg->kind) {
        case Kind::kRequest:
          // What every handler sees: args is a map (parse_message promises it).
          if (!msg->args.is_object()) std::abort();
          (void)encode_frame(make_event(msg->id, msg->args));
          break;
        case Kind::kError:
          (void)encode_frame(make_error(msg->id, error_from_message(*msg)));
          break;
        default:
          (void)encode_frame(make_result(msg->id, msg->data));
      }
      // A decoded frame re-encodes to a frame that decodes again, to the
      // same bytes (bytes, not values: NaN != NaN).
      // (A decoded frame is under the limit, so it encodes again.)
      auto once = encode_frame(j);
      if (!once.ok()) std::abort();
      FrameDecoder again;
      again.feed(*once);
      auto back = again.next();
      if (!back.ok() || !back->has_value()) std::abort();
      auto twice = encode_frame(**back);
      if (!twice.ok() || *twice != *once) std::abort();
    }
    if (in.empty()) break;
  }
  (void)dec.finish();
  return 0;
}
