// A live packet capture with libpcap on this host: the BPF filter compiled
// here, the packets streamed back as a pcap file (global header, then
// records) in `data` events of msgpack bin chunks when asked, and the summary
// (flows, DNS, drops; flows.h) computed here from the same packets. The SSH
// session the agent came over can be left out of the capture: its packets
// would carry the capture, be captured again, and so on.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "sonde/common/cancel.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/capture_contract.h"

namespace sonde::net {

struct CaptureOptions {
  std::string interface = "any";
  std::string filter;  // tcpdump syntax; "" = everything
  int snaplen = 262144;
  long count = 0;            // stop after this many packets; 0 = no limit
  long duration_ms = 30000;  // 0 = no limit
  bool promisc = false;
  bool stream = true;  // send the packets as `data` events, not only the summary
  long buffer_kib = 4096;
  size_t top_flows = 20;
  // "client_ip client_port server_ip server_port" (SSH_CONNECTION) of the
  // session to leave out; "" or anything unparsable leaves nothing out.
  std::string ssh_connection;
};

// The filter that leaves one SSH connection out, and its two ends.
struct SshExclusion {
  std::string client, server;  // "ip:port", "[v6]:port"
  std::string filter;          // "not (host C and port CP and host S and port SP)"
};

// Only addresses and ports go into the filter text: anything else in the
// variable is refused (nullopt), so it cannot change the filter's meaning.
std::optional<SshExclusion> ssh_exclusion(std::string_view ssh_connection);

// Runs the capture until `count`, `duration_ms` or a cancel. Events go to
// `emit` (started_event, data_event, progress_event of capture_contract.h).
// Errors only for what stops it before it starts (bad filter, no device, no
// permission).
Result<CaptureResult> capture(const CaptureOptions& opts, const CancelToken& cancel,
                              const std::function<void(const json&)>& emit);

}  // namespace sonde::net
