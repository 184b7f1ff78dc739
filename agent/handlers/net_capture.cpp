// `net.capture`: libpcap on this host with the BPF filter compiled here. The
// packets travel back as a pcap file (global header, then records) in `data`
// events of msgpack bin chunks, when asked (`stream`); the summary (flows,
// DNS, drops; net/flows.h) is computed here from the same packets and is the
// result. The agent's own SSH session is left out of the capture by default:
// its packets would carry the capture, be captured again, and so on.
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <sstream>

#include "../handler.h"
#include "sonde/common/io.h"
#include "sonde/net/capture_contract.h"
#include "sonde/net/flows.h"

namespace sonde::agent {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;  // per data event
constexpr long kFlushMs = 200;             // so `-w - | tshark -i -` is live
constexpr long kProgressMs = 1000;
constexpr long kPollMs = 100;  // how often cancel and the deadline are checked

struct PcapClose {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapPtr = std::unique_ptr<pcap_t, PcapClose>;

// The SSH connection this agent was started over: "client_ip client_port
// server_ip server_port", from our environment, or, when sudo dropped it,
// from the nearest ancestor's (sshd's session shell has it).
std::string find_ssh_connection() {
  if (const char* v = std::getenv("SSH_CONNECTION"); v && *v) return v;
  pid_t pid = ::getppid();
  for (int depth = 0; depth < 6 && pid > 1; ++depth) {
    auto env = read_file("/proc/" + std::to_string(pid) + "/environ", 1 << 20);
    if (env) {
      std::string_view e = *env;
      size_t pos = 0;
      while (pos < e.size()) {
        size_t end = e.find('\0', pos);
        if (end == std::string_view::npos) end = e.size();
        std::string_view var = e.substr(pos, end - pos);
        if (var.rfind("SSH_CONNECTION=", 0) == 0) return std::string(var.substr(15));
        pos = end + 1;
      }
    }
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
    if (!stat) break;
    // The ppid follows the ")" that ends the command name (which may hold spaces).
    size_t rp = stat->rfind(')');
    if (rp == std::string::npos) break;
    std::istringstream rest(stat->substr(rp + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    pid = static_cast<pid_t>(ppid);
  }
  return "";
}

// Only addresses and ports go into the filter text: anything else in the
// variable is refused, so it cannot change the filter's meaning.
std::string valid_ip(std::string ip) {
  if (ip.rfind("::ffff:", 0) == 0 && ip.find('.') != std::string::npos) ip = ip.substr(7);
  unsigned char buf[16];
  if (::inet_pton(AF_INET, ip.c_str(), buf) == 1 || ::inet_pton(AF_INET6, ip.c_str(), buf) == 1)
    return ip;
  return "";
}

struct SshExclusion {
  std::string client, server;  // "ip:port"
  std::string filter;          // "not (host C and port CP and host S and port SP)"
};

std::optional<SshExclusion> ssh_exclusion() {
  std::istringstream in(find_ssh_connection());
  std::string cip, cport, sip, sport;
  if (!(in >> cip >> cport >> sip >> sport)) return std::nullopt;
  cip = valid_ip(cip);
  sip = valid_ip(sip);
  auto port_ok = [](const std::string& p) {
    return !p.empty() && p.size() <= 5 && p.find_first_not_of("0123456789") == std::string::npos &&
           std::stol(p) > 0 && std::stol(p) < 65536;
  };
  if (cip.empty() || sip.empty() || !port_ok(cport) || !port_ok(sport)) return std::nullopt;
  auto ep = [](const std::string& ip, const std::string& port) {
    return ip.find(':') != std::string::npos ? "[" + ip + "]:" + port : ip + ":" + port;
  };
  SshExclusion x;
  x.client = ep(cip, cport);
  x.server = ep(sip, sport);
  x.filter =
      fmt::format("not (host {} and port {} and host {} and port {})", cip, cport, sip, sport);
  return x;
}

Error activate_error(int rc, pcap_t* p, const std::string& iface) {
  std::string detail = pcap_geterr(p);
  if (detail.empty()) detail = pcap_statustostr(rc);
  switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return Error{errc::kPermission,
                   fmt::format("capture on {}: permission denied ({})", iface, detail),
                   "run with --sudo (the agent needs CAP_NET_RAW), or setcap cap_net_raw+ep on "
                   "it",
                   EPERM};
    case PCAP_ERROR_NO_SUCH_DEVICE: {
      std::string names;
      pcap_if_t* all = nullptr;
      char errbuf[PCAP_ERRBUF_SIZE] = {};
      if (pcap_findalldevs(&all, errbuf) == 0) {
        for (pcap_if_t* d = all; d; d = d->next)
          if (!(d->flags & PCAP_IF_LOOPBACK) || std::strcmp(d->name, "lo") == 0)
            names += (names.empty() ? "" : ", ") + std::string(d->name);
        pcap_freealldevs(all);
      }
      return Error{errc::kNotFound, fmt::format("capture: no interface `{}` ({})", iface, detail),
                   names.empty() ? "see `ip -br link` on the target"
                                 : "interfaces there: " + names + " (or `any`)"};
    }
    case PCAP_ERROR_IFACE_NOT_UP:
      return Error{errc::kNotFound, fmt::format("capture: interface {} is down", iface),
                   fmt::format("bring it up (ip link set {} up) or pick another with -i", iface)};
    default:
      return Error{errc::kIo, fmt::format("capture on {}: {}", iface, detail), {}};
  }
}

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
  void flush(RequestContext& ctx, uint64_t packets) {
    size_t at = 0;
    while (at < buf_.size()) {
      size_t n = std::min(kChunkBytes, buf_.size() - at);
      ctx.emit(
          {{"phase", "data"},
           {"offset", sent_},
           {"packets", packets},
           {"data", json::binary(std::vector<uint8_t>(buf_.begin() + static_cast<long>(at),
                                                      buf_.begin() + static_cast<long>(at + n)))}});
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
  net::FlowAnalyzer* flows = nullptr;
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

}  // namespace

void register_net_capture(Registry& reg) {
  reg["net.capture"] = [](RequestContext& ctx) -> Result<json> {
    auto args = net::capture_args_from_json(ctx.args);
    if (!args) return args.error();
    if (auto st = net::validate(*args); !st) return st.error();
    const net::CaptureArgs& a = *args;
    const std::string& iface = a.interface;
    const long snaplen = a.snaplen == 0 ? net::kMaxSnaplen : a.snaplen;  // tcpdump's -s 0

    json notes = json::array();
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    PcapPtr p(pcap_create(iface.c_str(), errbuf));
    if (!p) return Error{errc::kIo, fmt::format("capture on {}: {}", iface, errbuf), {}};
    pcap_set_snaplen(p.get(), static_cast<int>(snaplen));
    pcap_set_promisc(p.get(), a.promisc ? 1 : 0);
    // Packets as they come, not when the kernel's block fills: a live pipe
    // into Wireshark and a prompt --count need it.
    pcap_set_immediate_mode(p.get(), 1);
    pcap_set_buffer_size(p.get(), static_cast<int>(a.buffer_kib * 1024));
    int rc = pcap_activate(p.get());
    if (rc < 0) return activate_error(rc, p.get(), iface);
    if (rc == PCAP_WARNING_PROMISC_NOTSUP)
      notes.push_back(
          fmt::format("{} cannot be put in promiscuous mode: captured without it", iface));
    else if (rc > 0)
      notes.push_back(fmt::format("pcap: {}", pcap_geterr(p.get())));
    // On `any`, the v2 cooked header also says which interface each packet
    // used (tcpdump does the same).
    if (iface == "any") {
      int* dlts = nullptr;
      int n = pcap_list_datalinks(p.get(), &dlts);
      for (int i = 0; i < n; ++i)
        if (dlts[i] == DLT_LINUX_SLL2) pcap_set_datalink(p.get(), DLT_LINUX_SLL2);
      if (n > 0) pcap_free_datalinks(dlts);
    }
    int lt = net::linktype_from_dlt(pcap_datalink(p.get()));
    int snap = pcap_snapshot(p.get());
    if (!net::linktype_supported(lt))
      notes.push_back(
          fmt::format("link type {} is not decoded by the summary: the pcap file has the packets",
                      net::linktype_name(lt)));

    bpf_u_int32 net = 0, mask = PCAP_NETMASK_UNKNOWN;
    if (iface != "any" && pcap_lookupnet(iface.c_str(), &net, &mask, errbuf) != 0)
      mask = PCAP_NETMASK_UNKNOWN;
    // The user's filter alone first, so an error quotes what they wrote.
    bpf_program prog{};
    if (!a.filter.empty()) {
      if (pcap_compile(p.get(), &prog, a.filter.c_str(), 1, mask) != 0)
        return Error{errc::kBadArgs,
                     fmt::format("bad capture filter `{}`: {}", a.filter, pcap_geterr(p.get())),
                     "filters use tcpdump's syntax (man pcap-filter), e.g. "
                     "'tcp port 443 and host 10.0.0.5'"};
      pcap_freecode(&prog);
    }
    std::optional<SshExclusion> excl;
    if (a.exclude_ssh) excl = ssh_exclusion();
    std::string effective = a.filter;
    if (excl)
      effective = a.filter.empty() ? excl->filter : "(" + a.filter + ") and " + excl->filter;
    if (!effective.empty()) {
      if (pcap_compile(p.get(), &prog, effective.c_str(), 1, mask) != 0)
        return Error{errc::kBadArgs,
                     fmt::format("capture filter `{}`: {}", effective, pcap_geterr(p.get())),
                     excl ? "the agent adds the exclusion of its own SSH session; "
                            "--no-exclude-ssh leaves it out"
                          : ""};
      int set = pcap_setfilter(p.get(), &prog);
      pcap_freecode(&prog);
      if (set != 0)
        return Error{
            errc::kIo, fmt::format("capture: setting the filter: {}", pcap_geterr(p.get())), {}};
    }
    if (pcap_setnonblock(p.get(), 1, errbuf) != 0)
      return Error{errc::kIo, fmt::format("capture: {}", errbuf), {}};
    int fd = pcap_get_selectable_fd(p.get());
    if (fd < 0) return Error{errc::kIo, "capture: no selectable descriptor for this device", {}};

    json excluded = nullptr;
    if (excl)
      excluded = {{"what", "the SSH connection this agent was started from (SSH_CONNECTION)"},
                  {"client", excl->client},
                  {"server", excl->server},
                  {"filter", excl->filter}};
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    json started = {{"phase", "started"},
                    {"host", host},
                    {"interface", iface},
                    {"linktype", lt},
                    {"linktype_name", net::linktype_name(lt)},
                    {"snaplen", snap},
                    {"filter", a.filter},
                    {"effective_filter", effective},
                    {"excluded", excluded},
                    {"count", a.count},
                    {"duration_ms", a.duration_ms},
                    {"notes", notes}};
    ctx.emit(started);

    net::FlowAnalyzer flows;
    PcapWriter writer;
    LoopState st;
    st.flows = &flows;
    st.writer = a.stream ? &writer : nullptr;
    st.linktype = lt;
    if (a.stream) {
      writer.header(lt, snap);
      writer.flush(ctx, 0);  // a reader (tshark -i -) starts on the header alone
    }

    const long start = monotonic_ms();
    const long deadline = a.duration_ms > 0 ? start + a.duration_ms : -1;
    long next_progress = start + kProgressMs;
    std::string stopped_by;
    std::string loop_error;
    for (;;) {
      long now = monotonic_ms();
      if (ctx.cancel.cancelled()) {
        stopped_by = "cancel";
        break;
      }
      if (a.count > 0 && st.packets >= static_cast<uint64_t>(a.count)) {
        stopped_by = "count";
        break;
      }
      if (deadline >= 0 && now >= deadline) {
        stopped_by = "duration";
        break;
      }
      long wait = kPollMs;
      if (deadline >= 0) wait = std::min(wait, deadline - now);
      if (!writer.empty())
        wait = std::min(wait, std::max(0L, writer.pending_since() + kFlushMs - now));
      pollfd pfd{fd, POLLIN, 0};
      int pr = ::poll(&pfd, 1, static_cast<int>(std::max(0L, wait)));
      if (pr < 0 && errno != EINTR) {
        loop_error = fmt::format("poll: {}", std::strerror(errno));
        stopped_by = "error";
        break;
      }
      if (pr > 0) {
        int max = a.count > 0 ? static_cast<int>(std::min<uint64_t>(
                                    static_cast<uint64_t>(a.count) - st.packets, 1 << 20))
                              : -1;
        int n = pcap_dispatch(p.get(), max, on_packet, reinterpret_cast<u_char*>(&st));
        if (n == PCAP_ERROR) {
          // E.g. the interface went away: what was captured still counts.
          loop_error = pcap_geterr(p.get());
          stopped_by = "error";
          break;
        }
      }
      now = monotonic_ms();
      if (!writer.empty() &&
          (writer.pending() >= kChunkBytes || now - writer.pending_since() >= kFlushMs))
        writer.flush(ctx, st.packets);
      if (now >= next_progress) {
        ctx.emit({{"phase", "progress"},
                  {"packets", st.packets},
                  {"bytes", st.wire_bytes},
                  {"elapsed_ms", now - start}});
        next_progress = now + kProgressMs;
      }
    }
    const long elapsed = monotonic_ms() - start;
    if (!writer.empty()) writer.flush(ctx, st.packets);

    pcap_stat ps{};
    json stats = {{"captured", st.packets}, {"bytes", st.wire_bytes}};
    if (pcap_stats(p.get(), &ps) == 0) {
      stats["received"] = ps.ps_recv;
      stats["dropped"] = ps.ps_drop;
      stats["if_dropped"] = ps.ps_ifdrop;
      if (ps.ps_drop > 0)
        notes.push_back(fmt::format(
            "the kernel dropped {} packets (the capture buffer filled): narrow the filter, cut "
            "--snaplen, or raise --buffer-size",
            ps.ps_drop));
    }
    if (!loop_error.empty()) notes.push_back("capture stopped: " + loop_error);

    json traffic = flows.to_json(static_cast<size_t>(a.flows));
    json result = started;
    result.erase("phase");
    result["stopped_by"] = stopped_by;
    result["elapsed_ms"] = elapsed;
    result["streamed"] = a.stream;
    result["file_bytes"] = writer.sent();
    result["stats"] = stats;
    result["traffic"] = traffic;
    result["notes"] = notes;
    std::string line = fmt::format(
        "{} on {}: {} captured{} in {:.1f} s, {}, {}, {}", host, iface,
        plural(st.packets, "packet", "packets"),
        stats.contains("dropped") && stats["dropped"].get<uint64_t>() > 0
            ? fmt::format(" ({} dropped by the kernel)", stats["dropped"].get<uint64_t>())
            : "",
        static_cast<double>(elapsed) / 1000,
        plural(traffic["tcp_flows_total"].get<uint64_t>(), "TCP flow", "TCP flows"),
        plural(traffic["udp_flows_total"].get<uint64_t>(), "UDP flow", "UDP flows"),
        plural(traffic["dns_total"].get<uint64_t>(), "DNS query", "DNS queries"));
    if (!a.filter.empty()) line += fmt::format(" (filter: {})", a.filter);
    result["summary"] = line;
    return result;
  };
}

}  // namespace sonde::agent
