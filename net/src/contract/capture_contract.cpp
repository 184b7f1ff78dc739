#include "sonde/net/capture_contract.h"

#include "read.h"
#include "sonde/common/json_read.h"

namespace sonde::net {
namespace {

using contract::bounded_strings;
using contract::read_list;

json both_json(const Both& b) {
  return {{"client", b.client}, {"server", b.server}};
}

void read_both(JsonReader& r, const json& o, const char* key, const JsonPath& at, Both& b) {
  if (const json* bj = r.map(o, key, at)) {
    r.integer(*bj, "client", at / key, b.client);
    r.integer(*bj, "server", at / key, b.server);
  }
}

void read_started(JsonReader& r, const json& j, CaptureStarted& s) {
  r.string(j, "host", {}, s.host);
  r.string(j, "interface", {}, s.interface);
  r.integer(j, "linktype", {}, s.linktype);
  r.string(j, "linktype_name", {}, s.linktype_name);
  r.integer(j, "snaplen", {}, s.snaplen);
  r.string(j, "filter", {}, s.filter);
  r.string(j, "effective_filter", {}, s.effective_filter);
  if (const json* ej = r.map(j, "excluded", {})) {
    const JsonPath w = JsonPath{} / "excluded";
    CaptureExcluded e;
    r.string(*ej, "what", w, e.what);
    r.string(*ej, "client", w, e.client);
    r.string(*ej, "server", w, e.server);
    r.string(*ej, "filter", w, e.filter);
    s.excluded = std::move(e);
  }
  r.integer(j, "count", {}, s.count);
  r.integer(j, "duration_ms", {}, s.duration_ms);
  bounded_strings(r, j, "notes", {}, s.notes, kMaxCaptureNotes);
}

void read_tcp_flow(JsonReader& r, const json& fj, const JsonPath& w, TcpFlowSummary& f) {
  r.string(fj, "client", w, f.client);
  r.string(fj, "server", w, f.server);
  r.boolean(fj, "initiator_known", w, f.initiator_known);
  r.integer(fj, "first_us", w, f.first_us);
  r.number(fj, "duration_ms", w, f.duration_ms);
  read_both(r, fj, "packets", w, f.packets);
  read_both(r, fj, "bytes", w, f.bytes);
  read_both(r, fj, "payload", w, f.payload);
  read_both(r, fj, "retransmissions", w, f.retransmissions);
  read_both(r, fj, "rsts", w, f.rsts);
  read_both(r, fj, "zero_windows", w, f.zero_windows);
  read_both(r, fj, "fins", w, f.fins);
  read_both(r, fj, "syns", w, f.syns);
  if (const json* hj = r.map(fj, "handshake", w)) {
    r.optional(*hj, "syn_to_synack_ms", w / "handshake", f.syn_to_synack_ms);
    r.optional(*hj, "synack_to_ack_ms", w / "handshake", f.synack_to_ack_ms);
    r.optional(*hj, "rtt_ms", w / "handshake", f.rtt_ms);
  }
  r.string(fj, "state", w, f.state);
}

void read_udp_flow(JsonReader& r, const json& fj, const JsonPath& w, UdpFlowSummary& f) {
  r.string(fj, "client", w, f.client);
  r.string(fj, "server", w, f.server);
  r.integer(fj, "first_us", w, f.first_us);
  r.number(fj, "duration_ms", w, f.duration_ms);
  read_both(r, fj, "packets", w, f.packets);
  read_both(r, fj, "bytes", w, f.bytes);
  read_both(r, fj, "payload", w, f.payload);
}

void read_dns(JsonReader& r, const json& dj, const JsonPath& w, DnsSummary& d) {
  r.string(dj, "client", w, d.client);
  r.string(dj, "server", w, d.server);
  r.integer(dj, "id", w, d.id);
  r.string(dj, "name", w, d.name);
  r.string(dj, "type", w, d.type);
  r.integer(dj, "queries", w, d.queries);
  r.integer(dj, "responses", w, d.responses);
  r.optional(dj, "query_us", w, d.query_us);
  r.string(dj, "rcode", w, d.rcode);
  bounded_strings(r, dj, "answers", w, d.answers, kMaxDnsAnswers);
  r.boolean(dj, "truncated", w, d.truncated);
  r.optional(dj, "ms", w, d.ms);
}

void read_traffic(JsonReader& r, const json& tj, const JsonPath& w, TrafficSummary& t) {
  FlowTotals& n = t.totals;
  r.integer(tj, "packets", w, n.packets);
  r.integer(tj, "bytes", w, n.bytes);
  r.integer(tj, "ipv4", w, n.ipv4);
  r.integer(tj, "ipv6", w, n.ipv6);
  r.integer(tj, "tcp", w, n.tcp);
  r.integer(tj, "udp", w, n.udp);
  r.integer(tj, "icmp", w, n.icmp);
  r.integer(tj, "other", w, n.other);
  r.integer(tj, "fragments", w, n.fragments);
  r.integer(tj, "undecoded", w, n.undecoded);
  r.integer(tj, "flows_not_tracked", w, n.flows_not_tracked);
  r.integer(tj, "untracked_packets", w, n.untracked_packets);
  r.integer(tj, "dns_not_tracked", w, n.dns_not_tracked);
  r.integer(tj, "dns_undecodable", w, n.dns_undecodable);
  read_list(r, tj, "tcp_flows", w, kMaxCaptureFlows, t.tcp_flows, read_tcp_flow);
  r.integer(tj, "tcp_flows_total", w, t.tcp_flows_total);
  read_list(r, tj, "udp_flows", w, kMaxCaptureFlows, t.udp_flows, read_udp_flow);
  r.integer(tj, "udp_flows_total", w, t.udp_flows_total);
  read_list(r, tj, "dns", w, kMaxDnsShown, t.dns, read_dns);
  r.integer(tj, "dns_total", w, t.dns_total);
}

Error bad_capture(std::string msg, std::string hint = "sonde help capture") {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

}  // namespace

json to_json(const CaptureArgs& a) {
  return {{"interface", a.interface}, {"filter", a.filter},           {"snaplen", a.snaplen},
          {"count", a.count},         {"duration_ms", a.duration_ms}, {"promisc", a.promisc},
          {"stream", a.stream},       {"exclude_ssh", a.exclude_ssh}, {"buffer_kib", a.buffer_kib},
          {"flows", a.flows}};
}

Result<CaptureArgs> capture_args_from_json(const json& j) {
  auto r = JsonReader::args("net.capture");
  CaptureArgs a;
  if (!r.object(j, {})) return r.error();
  r.string(j, "interface", {}, a.interface);
  r.string(j, "filter", {}, a.filter);
  r.integer(j, "snaplen", {}, a.snaplen);
  r.integer(j, "count", {}, a.count);
  r.integer(j, "duration_ms", {}, a.duration_ms);
  r.boolean(j, "promisc", {}, a.promisc);
  r.boolean(j, "stream", {}, a.stream);
  r.boolean(j, "exclude_ssh", {}, a.exclude_ssh);
  r.integer(j, "buffer_kib", {}, a.buffer_kib);
  r.integer(j, "flows", {}, a.flows);
  if (r.failed()) return r.error();
  if (a.interface.empty()) a.interface = "any";
  return a;
}

Status validate(const CaptureArgs& a) {
  if (a.interface.size() > 64 || a.interface.find('\0') != std::string::npos)
    return bad_capture("interface name too long", "ip link lists them");
  if (a.filter.size() > kMaxCaptureFilter) return bad_capture("the filter is over 8 KiB");
  if (a.snaplen < 0 || a.snaplen > kMaxSnaplen)
    return bad_capture("--snaplen must be 0..262144", "0 keeps the whole packet");
  if (a.count < 0) return bad_capture("--count must not be negative");
  if (a.duration_ms < 0 || a.duration_ms > kMaxCaptureDurationMs)
    return bad_capture("--duration must be 0 (no limit) .. 7d", "e.g. --duration 30s, 500ms, 5m");
  if (a.buffer_kib < 64 || a.buffer_kib > 1024 * 1024)
    return bad_capture("--buffer-size must be 64..1048576 KiB");
  if (a.flows < 0 || static_cast<size_t>(a.flows) > kMaxCaptureFlows)
    return bad_capture(fmt::format("--flows must be 0..{}", kMaxCaptureFlows));
  return ok_status();
}

json started_event(const CaptureStarted& s) {
  json excluded = nullptr;
  if (s.excluded)
    excluded = {{"what", s.excluded->what},
                {"client", s.excluded->client},
                {"server", s.excluded->server},
                {"filter", s.excluded->filter}};
  return {{"phase", "started"},
          {"host", s.host},
          {"interface", s.interface},
          {"linktype", s.linktype},
          {"linktype_name", s.linktype_name},
          {"snaplen", s.snaplen},
          {"filter", s.filter},
          {"effective_filter", s.effective_filter},
          {"excluded", std::move(excluded)},
          {"count", s.count},
          {"duration_ms", s.duration_ms},
          {"notes", s.notes}};
}

json data_event(uint64_t offset, uint64_t packets, std::vector<uint8_t> bytes) {
  return {{"phase", "data"},
          {"offset", offset},
          {"packets", packets},
          {"data", json::binary(std::move(bytes))}};
}

json progress_event(uint64_t packets, uint64_t bytes, long elapsed_ms) {
  return {
      {"phase", "progress"}, {"packets", packets}, {"bytes", bytes}, {"elapsed_ms", elapsed_ms}};
}

Result<CaptureEvent> capture_event_from_json(const json& j) {
  auto r = JsonReader::reply("net.capture", "event");
  CaptureEvent ev;
  if (!r.object(j, {})) return r.error();
  std::string phase;
  r.string(j, "phase", {}, phase, Need::kRequired);
  if (r.failed()) return r.error();
  if (phase == "started") {
    ev.phase = CaptureEvent::Phase::kStarted;
    read_started(r, j, ev.started);
  } else if (phase == "data") {
    ev.phase = CaptureEvent::Phase::kData;
    r.integer(j, "offset", {}, ev.offset, Need::kRequired);
    r.integer(j, "packets", {}, ev.packets);
    if (const json* d = r.field(j, "data", {}, Need::kRequired)) {
      if (d->is_binary())
        ev.data = std::span<const uint8_t>(d->get_binary().data(), d->get_binary().size());
      else
        r.fail(JsonPath{} / "data", fmt::format("expected bytes, got {}", d->type_name()));
    }
  } else if (phase == "progress") {
    ev.phase = CaptureEvent::Phase::kProgress;
    r.integer(j, "packets", {}, ev.packets);
    r.integer(j, "bytes", {}, ev.bytes);
    r.integer(j, "elapsed_ms", {}, ev.elapsed_ms);
  } else {
    r.fail(JsonPath{} / "phase", fmt::format("`{}` is not started, data or progress", phase));
  }
  if (r.failed()) return r.error();
  return ev;
}

json to_json(const TrafficSummary& t) {
  const FlowTotals& n = t.totals;
  json j = {{"packets", n.packets},
            {"bytes", n.bytes},
            {"ipv4", n.ipv4},
            {"ipv6", n.ipv6},
            {"tcp", n.tcp},
            {"udp", n.udp},
            {"icmp", n.icmp},
            {"other", n.other},
            {"fragments", n.fragments},
            {"undecoded", n.undecoded},
            {"flows_not_tracked", n.flows_not_tracked},
            {"untracked_packets", n.untracked_packets},
            {"dns_not_tracked", n.dns_not_tracked},
            {"dns_undecodable", n.dns_undecodable}};
  json tcp = json::array();
  for (const auto& f : t.tcp_flows)
    tcp.push_back({{"client", f.client},
                   {"server", f.server},
                   {"initiator_known", f.initiator_known},
                   {"first_us", f.first_us},
                   {"duration_ms", f.duration_ms},
                   {"packets", both_json(f.packets)},
                   {"bytes", both_json(f.bytes)},
                   {"payload", both_json(f.payload)},
                   {"retransmissions", both_json(f.retransmissions)},
                   {"rsts", both_json(f.rsts)},
                   {"zero_windows", both_json(f.zero_windows)},
                   {"fins", both_json(f.fins)},
                   {"syns", both_json(f.syns)},
                   {"handshake",
                    {{"syn_to_synack_ms", or_null(f.syn_to_synack_ms)},
                     {"synack_to_ack_ms", or_null(f.synack_to_ack_ms)},
                     {"rtt_ms", or_null(f.rtt_ms)}}},
                   {"state", f.state}});
  j["tcp_flows"] = std::move(tcp);
  j["tcp_flows_total"] = t.tcp_flows_total;
  json udp = json::array();
  for (const auto& f : t.udp_flows)
    udp.push_back({{"client", f.client},
                   {"server", f.server},
                   {"first_us", f.first_us},
                   {"duration_ms", f.duration_ms},
                   {"packets", both_json(f.packets)},
                   {"bytes", both_json(f.bytes)},
                   {"payload", both_json(f.payload)}});
  j["udp_flows"] = std::move(udp);
  j["udp_flows_total"] = t.udp_flows_total;
  json dns = json::array();
  for (const auto& d : t.dns) {
    json e = {{"client", d.client},
              {"server", d.server},
              {"id", d.id},
              {"name", d.name},
              {"type", d.type},
              {"queries", d.queries},
              {"responses", d.responses},
              {"query_us", or_null(d.query_us)},
              {"rcode", or_null(d.rcode)},
              {"answers", d.answers},
              {"ms", or_null(d.ms)}};
    if (d.truncated) e["truncated"] = true;
    dns.push_back(std::move(e));
  }
  j["dns"] = std::move(dns);
  j["dns_total"] = t.dns_total;
  return j;
}

json to_json(const CaptureResult& r) {
  json j = started_event(r);
  j.erase("phase");
  json stats = {{"captured", r.stats.captured}, {"bytes", r.stats.bytes}};
  if (r.stats.kernel_known) {
    stats["received"] = r.stats.received;
    stats["dropped"] = r.stats.dropped;
    stats["if_dropped"] = r.stats.if_dropped;
  }
  j["stopped_by"] = r.stopped_by;
  j["elapsed_ms"] = r.elapsed_ms;
  j["streamed"] = r.streamed;
  j["file_bytes"] = r.file_bytes;
  j["stats"] = std::move(stats);
  j["traffic"] = to_json(r.traffic);
  j["summary"] = r.summary;
  return j;
}

Result<CaptureResult> capture_result_from_json(const json& j) {
  auto r = JsonReader::reply("net.capture");
  CaptureResult out;
  if (!r.object(j, {})) return r.error();
  read_started(r, j, out);
  r.string(j, "stopped_by", {}, out.stopped_by, Need::kRequired);
  r.integer(j, "elapsed_ms", {}, out.elapsed_ms);
  r.boolean(j, "streamed", {}, out.streamed);
  r.integer(j, "file_bytes", {}, out.file_bytes);
  const JsonPath sw = JsonPath{} / "stats";
  if (const json* st = r.map(j, "stats", {}, Need::kRequired)) {
    r.integer(*st, "captured", sw, out.stats.captured);
    r.integer(*st, "bytes", sw, out.stats.bytes);
    if (r.field(*st, "received", sw)) {
      out.stats.kernel_known = true;
      r.integer(*st, "received", sw, out.stats.received);
      r.integer(*st, "dropped", sw, out.stats.dropped);
      r.integer(*st, "if_dropped", sw, out.stats.if_dropped);
    }
  }
  if (const json* tj = r.map(j, "traffic", {}, Need::kRequired))
    read_traffic(r, *tj, JsonPath{} / "traffic", out.traffic);
  r.string(j, "summary", {}, out.summary);
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::net
