// The pcap handle a capture reads from: created, activated, its link type
// chosen and its filter set, or the error that says what to do instead.
#pragma once

#include <pcap/pcap.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sonde/common/result.h"
#include "sonde/net/capture.h"

namespace sonde::net {

struct PcapClose {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapPtr = std::unique_ptr<pcap_t, PcapClose>;

struct CaptureDevice {
  PcapPtr pcap;
  int fd = -1;  // selectable, non-blocking
  int linktype = 0;
  int snaplen = 0;
  std::string effective_filter;  // the user's filter and the SSH exclusion
  std::optional<SshExclusion> excluded;
  std::vector<std::string> notes;
};

Result<CaptureDevice> open_capture(const CaptureOptions& opts);

}  // namespace sonde::net
