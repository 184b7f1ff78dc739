// The `net.capture` op's contract: CaptureArgs (where to capture, what, for
// how long, whether to stream the pcap back), its events (started, data,
// progress) and CaptureResult (the summary), one JSON form each, used by
// `sonde capture`, the handler and net/capture.h. validate() is the one
// judge of a request.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/flows.h"

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

// The summary's lists: the top flows asked for (validate's bound), the DNS
// transactions a summary shows, the answers kept per transaction.
inline constexpr size_t kMaxCaptureFlows = 10000;
inline constexpr size_t kMaxCaptureNotes = 256;
inline constexpr size_t kMaxDnsAnswers = 16;

// The SSH connection left out of the capture.
struct CaptureExcluded {
  std::string what;            // what it is, in words
  std::string client, server;  // "ip:port"
  std::string filter;          // the clause that leaves it out
};

// What the capture is, once it runs: the "started" event, and the first
// fields of the result.
struct CaptureStarted {
  std::string host;  // the agent's hostname
  std::string interface;
  int linktype = 0;  // LINKTYPE_ of the pcap file
  std::string linktype_name;
  int snaplen = 0;
  std::string filter;            // as asked
  std::string effective_filter;  // with the SSH exclusion
  std::optional<CaptureExcluded> excluded;
  long count = 0;
  long duration_ms = 0;
  std::vector<std::string> notes;
};

struct CaptureStats {
  uint64_t captured = 0;  // packets that passed the filter and were read
  uint64_t bytes = 0;     // their length on the wire
  // pcap_stats, when the device gives them.
  bool kernel_known = false;
  uint64_t received = 0, dropped = 0, if_dropped = 0;
};

// The summary of a capture: what it was, why it stopped, the counts, the
// flows and DNS seen. The controller adds where the pcap went.
struct CaptureResult : CaptureStarted {
  std::string stopped_by;  // "count", "duration", "cancel", "error", "reader" (stdout closed)
  long elapsed_ms = 0;
  bool streamed = false;    // the packets came back as data events
  uint64_t file_bytes = 0;  // the pcap file's size
  CaptureStats stats;
  TrafficSummary traffic;
  std::string summary;  // one line for the case journal
};

// One event of a running capture, as read by the controller.
struct CaptureEvent {
  enum class Phase : uint8_t { kStarted, kData, kProgress };
  Phase phase = Phase::kProgress;
  CaptureStarted started;         // kStarted
  uint64_t packets = 0;           // kData, kProgress: captured so far
  uint64_t bytes = 0;             // kProgress: on the wire so far
  long elapsed_ms = 0;            // kProgress
  uint64_t offset = 0;            // kData: where data goes in the pcap file
  std::span<const uint8_t> data;  // kData: into the event it was read from
};

// {phase: "started", host, interface, linktype, linktype_name, snaplen,
// filter, effective_filter, excluded: null | {what, client, server, filter},
// count, duration_ms, notes}
json started_event(const CaptureStarted& s);
// {phase: "data", offset, packets, data: bin}
json data_event(uint64_t offset, uint64_t packets, std::vector<uint8_t> bytes);
// {phase: "progress", packets, bytes, elapsed_ms}
json progress_event(uint64_t packets, uint64_t bytes, long elapsed_ms);
// Strict: errc::kProtocol naming the field. Data stays in `j`.
Result<CaptureEvent> capture_event_from_json(const json& j);

// {packets, bytes, ipv4, ipv6, tcp, udp, icmp, other, fragments, undecoded,
//  flows_not_tracked, untracked_packets,
//  tcp_flows [{client, server, initiator_known, first_us, duration_ms,
//              packets|bytes|payload|retransmissions|rsts|zero_windows|fins|syns
//              {client, server} (sent by each side),
//              handshake {syn_to_synack_ms, synack_to_ack_ms, rtt_ms} (null: not seen),
//              state}], tcp_flows_total,
//  udp_flows [{client, server, first_us, duration_ms, packets, bytes, payload}],
//  udp_flows_total,
//  dns [{client, server, id, name, type, queries, responses, query_us (null: not seen),
//        rcode (null: no answer), answers, truncated (only when true), ms}], dns_total,
//  dns_not_tracked, dns_undecodable}
json to_json(const TrafficSummary& t);
// The started fields, then stopped_by, elapsed_ms, streamed, file_bytes,
// stats {captured, bytes, and received, dropped, if_dropped when known},
// traffic, notes, summary.
json to_json(const CaptureResult& r);
// Strict: errc::kProtocol naming the field, with the agent mismatch hint.
Result<CaptureResult> capture_result_from_json(const json& j);

}  // namespace sonde::net
