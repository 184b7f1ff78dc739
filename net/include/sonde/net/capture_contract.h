// The `net.capture` op's args: where to capture, what, for how long, and
// whether to stream the pcap back. Used by `sonde capture` and the handler;
// validate() is the one judge of a request.
#pragma once

#include <string>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::net {

inline constexpr long kMaxSnaplen = 262144;
inline constexpr long kMaxCaptureDurationMs = 7L * 24 * 3600 * 1000;
inline constexpr size_t kMaxCaptureFilter = 8192;

struct CaptureArgs {
  std::string interface = "any";
  std::string filter;          // pcap-filter(7)
  long snaplen = kMaxSnaplen;  // 0: the whole packet, like tcpdump -s 0
  long count = 0;              // 0: no limit
  long duration_ms = 30000;    // 0: no limit
  bool promisc = false;
  bool stream = true;       // send the pcap bytes back as events
  bool exclude_ssh = true;  // leave out our own SSH session
  long buffer_kib = 4096;
  long flows = 20;  // top flows in the summary
};

json to_json(const CaptureArgs& a);
// Wrong types are errc::kBadArgs naming the field.
Result<CaptureArgs> capture_args_from_json(const json& j);
// Interface, filter size, snaplen, count, duration, buffer, flows.
Status validate(const CaptureArgs& a);

}  // namespace sonde::net
