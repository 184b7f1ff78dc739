#include "sonde/net/capture.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "capture_device.h"
#include "sonde/common/io.h"
#include "sonde/net/address.h"
#include "sonde/net/flows.h"

namespace sonde::net {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;  // per data event
constexpr long kFlushMs = 200;             // so `-w - | tshark -i -` is live
constexpr long kProgressMs = 1000;
constexpr long kPollMs = 100;  // how often cancel and the deadline are checked

using Emit = std::function<void(const json&)>;

// The pcap file as it streams: the global header, then one record per packet.
class PcapWriter {
 public:
  void header(int linktype, int snaplen) {
    // Native byte order, microsecond timestamps: readers detect the order from the magic.
    uint32_t magic = 0xa1b2c3d4;
    uint16_t major = 2, minor = 4;
    int32_t zone = 0;
    uint32_t sigfigs = 0, snap = static_cast<uint32_t>(snaplen),
             net = static_cast<uint32_t>(linktype);
    put(&magic, 4), put(&major, 2), put(&minor, 2), put(&zone, 4), put(&sigfigs, 4);
    put(&snap, 4), put(&net, 4);
  }
  void record(const pcap_pkthdr* h, const u_char* bytes) {
    uint32_t rec[4] = {static_cast<uint32_t>(h->ts.tv_sec), static_cast<uint32_t>(h->ts.tv_usec),
                       h->caplen, h->len};
    put(rec, sizeof rec);
    put(bytes, h->caplen);
  }
  bool empty() const { return buf_.empty(); }
  size_t pending() const { return buf_.size(); }
  long pending_since() const { return since_; }
  // Sends what is pending as data events of at most kChunkBytes.
  void flush(const Emit& emit, uint64_t packets) {
    size_t at = 0;
    while (at < buf_.size()) {
      size_t n = std::min(kChunkBytes, buf_.size() - at);
      emit(data_event(sent_, packets,
                      std::vector<uint8_t>(buf_.begin() + static_cast<long>(at),
                                           buf_.begin() + static_cast<long>(at + n))));
      sent_ += n;
      at += n;
    }
    buf_.clear();
  }
  uint64_t sent() const { return sent_; }

 private:
  void put(const void* p, size_t n) {
    if (buf_.empty()) since_ = monotonic_ms();
    const auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  std::vector<uint8_t> buf_;
  long since_ = 0;
  uint64_t sent_ = 0;
};

struct LoopState {
  FlowAnalyzer* flows = nullptr;
  PcapWriter* writer = nullptr;  // null: summary only
  int linktype = 0;
  uint64_t packets = 0;
  uint64_t wire_bytes = 0;
};

void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
  auto* st = reinterpret_cast<LoopState*>(user);
  ++st->packets;
  st->wire_bytes += h->len;
  int64_t ts = static_cast<int64_t>(h->ts.tv_sec) * 1000000 + h->ts.tv_usec;
  st->flows->add(ts, st->linktype, bytes, h->caplen, h->len);
  if (st->writer) st->writer->record(h, bytes);
}

std::string plural(uint64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

struct LoopEnd {
  std::string stopped_by;
  std::string error;
  long elapsed_ms = 0;
};

// Reads packets until the count, the deadline, a cancel or an error, flushing
// the pcap stream and sending progress as it goes.
LoopEnd run_loop(CaptureDevice& dev, const CaptureOptions& opts, LoopState& st, PcapWriter& writer,
                 const CancelToken& cancel, const Emit& emit) {
  LoopEnd end;
  const long start = monotonic_ms();
  const long deadline = opts.duration_ms > 0 ? start + opts.duration_ms : -1;
  long next_progress = start + kProgressMs;
  for (;;) {
    long now = monotonic_ms();
    if (cancel.cancelled()) {
      end.stopped_by = "cancel";
      break;
    }
    if (opts.count > 0 && st.packets >= static_cast<uint64_t>(opts.count)) {
      end.stopped_by = "count";
      break;
    }
    if (deadline >= 0 && now >= deadline) {
      end.stopped_by = "duration";
      break;
    }
    long wait = kPollMs;
    if (deadline >= 0) wait = std::min(wait, deadline - now);
    if (!writer.empty())
      wait = std::min(wait, std::max(0L, writer.pending_since() + kFlushMs - now));
    pollfd pfd{dev.fd, POLLIN, 0};
    int pr = ::poll(&pfd, 1, static_cast<int>(std::max(0L, wait)));
    if (pr < 0 && errno != EINTR) {
      end.error = fmt::format("poll: {}", std::strerror(errno));
      end.stopped_by = "error";
      break;
    }
    if (pr > 0) {
      int max = opts.count > 0 ? static_cast<int>(std::min<uint64_t>(
                                     static_cast<uint64_t>(opts.count) - st.packets, 1 << 20))
                               : -1;
      int n = pcap_dispatch(dev.pcap.get(), max, on_packet, reinterpret_cast<u_char*>(&st));
      if (n == PCAP_ERROR) {
        // E.g. the interface went away: what was captured still counts.
        end.error = pcap_geterr(dev.pcap.get());
        end.stopped_by = "error";
        break;
      }
    }
    now = monotonic_ms();
    if (!writer.empty() &&
        (writer.pending() >= kChunkBytes || now - writer.pending_since() >= kFlushMs))
      writer.flush(emit, st.packets);
    if (now >= next_progress) {
      emit(progress_event(st.packets, st.wire_bytes, now - start));
      next_progress = now + kProgressMs;
    }
  }
  end.elapsed_ms = monotonic_ms() - start;
  return end;
}

}  // namespace

Result<CaptureResult> capture(const CaptureOptions& opts, const CancelToken& cancel,
                              const Emit& emit) {
  auto opened = open_capture(opts);
  if (!opened) return opened.error();
  CaptureDevice& dev = *opened;

  CaptureResult result;
  CaptureStarted& started = result;
  started.host = local_hostname();
  started.interface = opts.interface;
  started.linktype = dev.linktype;
  started.linktype_name = linktype_name(dev.linktype);
  started.snaplen = dev.snaplen;
  started.filter = opts.filter;
  started.effective_filter = dev.effective_filter;
  if (dev.excluded)
    started.excluded =
        CaptureExcluded{"the SSH connection this agent was started from (SSH_CONNECTION)",
                        dev.excluded->client, dev.excluded->server, dev.excluded->filter};
  started.count = opts.count;
  started.duration_ms = opts.duration_ms;
  started.notes = dev.notes;
  emit(started_event(started));

  FlowAnalyzer flows;
  PcapWriter writer;
  LoopState st;
  st.flows = &flows;
  st.writer = opts.stream ? &writer : nullptr;
  st.linktype = dev.linktype;
  if (opts.stream) {
    writer.header(dev.linktype, dev.snaplen);
    writer.flush(emit, 0);  // a reader (tshark -i -) starts on the header alone
  }
  LoopEnd end = run_loop(dev, opts, st, writer, cancel, emit);
  if (!writer.empty()) writer.flush(emit, st.packets);

  result.stats.captured = st.packets;
  result.stats.bytes = st.wire_bytes;
  pcap_stat ps{};
  if (pcap_stats(dev.pcap.get(), &ps) == 0) {
    result.stats.kernel_known = true;
    result.stats.received = ps.ps_recv;
    result.stats.dropped = ps.ps_drop;
    result.stats.if_dropped = ps.ps_ifdrop;
    if (ps.ps_drop > 0)
      result.notes.push_back(fmt::format(
          "the kernel dropped {} packets (the capture buffer filled): narrow the filter, cut "
          "--snaplen, or raise --buffer-size",
          ps.ps_drop));
  }
  if (!end.error.empty()) result.notes.push_back("capture stopped: " + end.error);

  result.traffic = flows.summary(opts.top_flows);
  result.stopped_by = end.stopped_by;
  result.elapsed_ms = end.elapsed_ms;
  result.streamed = opts.stream;
  result.file_bytes = writer.sent();
  const TrafficSummary& t = result.traffic;
  std::string line = fmt::format(
      "{} on {}: {} captured{} in {:.1f} s, {}, {}, {}", started.host, opts.interface,
      plural(st.packets, "packet", "packets"),
      result.stats.dropped > 0 ? fmt::format(" ({} dropped by the kernel)", result.stats.dropped)
                               : "",
      static_cast<double>(end.elapsed_ms) / 1000,
      plural(t.tcp_flows_total, "TCP flow", "TCP flows"),
      plural(t.udp_flows_total, "UDP flow", "UDP flows"),
      plural(t.dns_total, "DNS query", "DNS queries"));
  if (!opts.filter.empty()) line += fmt::format(" (filter: {})", opts.filter);
  result.summary = line;
  return result;
}

}  // namespace sonde::net
