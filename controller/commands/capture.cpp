// sonde capture TARGET [--interface IFACE] [-c N] [--duration D] [-s SNAPLEN]
// [-w FILE.pcap | -w -] [FILTER...]: libpcap on the target with the filter
// compiled there, the packets streamed back into a pcap file (or stdout, for
// `| wireshark -k -i -`), and a summary from the agent: per TCP flow the
// handshake RTT, data each way, retransmissions, RSTs, zero windows; UDP
// flows; DNS queries and answers; kernel drops.
//
// The result (--json) is the agent's `net.capture` result (CaptureResult,
// net/capture_contract.h) plus "file":
//   host, interface, linktype, linktype_name, snaplen, filter, effective_filter,
//   excluded {what, client, server, filter} | null, count, duration_ms,
//   stopped_by ("count" | "duration" | "cancel" | "error" | "reader": stdout closed),
//   elapsed_ms,
//   streamed, file_bytes, stats {captured, bytes, received, dropped, if_dropped},
//   traffic {packets, bytes, ipv4, ipv6, tcp, udp, icmp, other, fragments,
//            undecoded, flows_not_tracked, untracked_packets,
//            tcp_flows [{client, server, initiator_known, first_us, duration_ms,
//                        packets|bytes|payload|retransmissions|rsts|zero_windows|
//                        fins|syns {client, server} (sent by each side),
//                        handshake {syn_to_synack_ms, synack_to_ack_ms, rtt_ms},
//                        state}], tcp_flows_total,
//            udp_flows [{client, server, first_us, duration_ms, packets, bytes,
//                        payload}], udp_flows_total,
//            dns [{client, server, id, name, type, queries, responses,
//                  query_us, rcode, answers, ms}], dns_total, dns_not_tracked,
//            dns_undecodable},
//   notes [..], summary (one line).
// Events: {phase: "started", ...the fields above known at start},
// {phase: "data", offset, packets, data: bin} (the pcap file, in order),
// {phase: "progress", packets, bytes, elapsed_ms}.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "../cli/command.h"
#include "../cli/status_line.h"
#include "sonde/common/io.h"
#include "sonde/common/json_text.h"
#include "sonde/net/capture_contract.h"
#include "sonde/render/capture.h"
#include "sonde/render/table.h"

namespace sonde::controller {

CommandSpec capture_command() {
  CommandSpec c;
  c.name = "capture";
  c.summary =
      "capture packets on the target (libpcap, filter compiled there) into a pcap file, with a "
      "per-flow and DNS summary";
  c.synopsis =
      "capture TARGET [-i IFACE] [-c N] [--duration 30s] [-s SNAPLEN] "
      "[-w FILE.pcap | -w -] [FILTER...]";
  c.rest_positional = "filter";
  c.takes_rest = true;  // `sonde capture TARGET -- FILTER...` works too
  c.options = [](po::options_description& o) {
    o.add_options()(
        "interface,i", po::value<std::string>()->default_value("any"),
        "where to capture (here -i is this, not --identity): a name from `ip link`, or `any` (all "
        "interfaces, Linux cooked v2 frames that name each packet's interface)")(
        "count,c", po::value<long>(), "stop after N packets (that pass the filter)")(
        "duration", po::value<std::string>(),
        "stop after this long (default 30s; with -c or -w -, until the count or Ctrl-C; 0: no "
        "limit)")("snaplen,s", po::value<long>()->default_value(262144),
                  "bytes kept of each packet (0: all); the summary still counts whole packets")(
        "write,w", po::value<std::string>(),
        "write the packets to FILE (pcap), or `-` for stdout: sonde capture HOST -w - | "
        "wireshark -k -i -. Without -w only the summary comes back")(
        "promisc", po::bool_switch(), "promiscuous mode (off by default; not on `any`)")(
        "no-exclude-ssh", po::bool_switch(),
        "keep the SSH connection the agent runs over in the capture (left out by default: its "
        "packets carry the capture itself)")(
        "buffer-size,B", po::value<long>()->default_value(4096),
        "kernel capture buffer in KiB (as tcpdump -B); raise it when packets are dropped")(
        "flows", po::value<long>()->default_value(20), "show the top N flows by bytes")(
        "filter", po::value<std::vector<std::string>>()->composing(),
        "pcap-filter(7) expression, as tcpdump takes it (words are joined with spaces)");
  };
  c.run = [](CommandContext& ctx) -> int {
    std::vector<std::string> words;
    if (ctx.vm.count("filter")) words = ctx.vm["filter"].as<std::vector<std::string>>();
    words.insert(words.end(), ctx.rest.begin(), ctx.rest.end());
    std::string filter;
    for (const auto& w : words) filter += (filter.empty() ? "" : " ") + w;

    net::CaptureArgs args;
    args.interface = ctx.vm["interface"].as<std::string>();
    args.filter = filter;
    args.snaplen = ctx.vm["snaplen"].as<long>();
    if (ctx.vm.count("count")) {
      args.count = ctx.vm["count"].as<long>();
      if (args.count < 1) return ctx.fail(Error{errc::kBadArgs, "--count must be at least 1", {}});
    }
    std::string out_path = ctx.vm.count("write") ? ctx.vm["write"].as<std::string>() : "";
    const bool to_stdout = out_path == "-";
    if (to_stdout && ctx.g.handshake_gate)
      return ctx.fail(
          Error{errc::kBadArgs, "-w - is one stream: a fleet writes a pcap per host",
                "give -w FILE (out.pcap becomes out.HOST.pcap) or -w 'cap-{host}.pcap'"});
    if (ctx.vm.count("duration")) {
      auto d = parse_duration_ms(ctx.vm["duration"].as<std::string>());
      if (!d)
        return ctx.fail(Error{errc::kBadArgs, "--duration is not a duration",
                              "e.g. --duration 30s, 500ms, 5m"});
      args.duration_ms = *d;
    } else if (args.count > 0 || to_stdout) {
      args.duration_ms =
          0;  // tcpdump -c and a live pipe: until the count, Ctrl-C or the reader leaves
    }
    args.promisc = ctx.vm["promisc"].as<bool>();
    args.exclude_ssh = !ctx.vm["no-exclude-ssh"].as<bool>();
    args.buffer_kib = ctx.vm["buffer-size"].as<long>();
    args.flows = ctx.vm["flows"].as<long>();
    args.stream = !out_path.empty();
    if (auto st = net::validate(args); !st) return ctx.fail(st.error());

    // Where the human output goes: stdout carries the pcap with -w -.
    FILE* human = to_stdout ? ctx.err : ctx.out;
    if (to_stdout && ::isatty(1))
      return ctx.fail(Error{errc::kBadArgs, "-w - would write binary pcap to the terminal",
                            "pipe it: sonde capture TARGET -w - | wireshark -k -i - (or "
                            "tshark -r -)"});
    // Opened before anything starts on the target: a bad -w fails first.
    std::string part = out_path.empty() || to_stdout ? "" : out_path + ".part";
    FILE* f = nullptr;
    if (!part.empty()) {
      f = std::fopen(part.c_str(), "wb");
      if (!f) return ctx.fail(errno_error("open " + part, errno, "check the -w path"));
    }
    uint64_t written = 0;
    auto fail_file = [&](const Error& e) {
      if (f) std::fclose(f);
      f = nullptr;
      // A capture cut short is still worth having: the .part stays when it
      // holds packets (its last record may be cut).
      if (!part.empty()) {
        if (written > 24)
          std::fprintf(ctx.err, "sonde: the partial capture is in %s\n", part.c_str());
        else
          std::remove(part.c_str());
      }
      return ctx.fail(e);
    };

    auto s = ctx.connect();
    if (!s) return fail_file(s.error());
    auto id = (*s)->send_request("net.capture", net::to_json(args));
    if (!id) return fail_file(id.error());

    long last_status = 0;
    Error write_error;
    bool reader_gone = false;
    StatusLine status_line(ctx.err);
    const bool tty = status_line.tty();
    auto status = [&](const std::string& line, bool final_line) {
      status_line.show(line, final_line);
    };
    uint64_t packets = 0, wire = 0;
    auto progress = [&] {
      long now = monotonic_ms();
      if (!tty || now - last_status < 200) return;
      last_status = now;
      std::string w = out_path.empty() ? "" : ", " + human_bytes(written) + " written";
      status(fmt::format("sonde: {} packets, {} on the wire{} (Ctrl-C stops)", packets,
                         human_bytes(wire), w),
             false);
    };
    auto on_started = [&](const net::CaptureStarted& ev) {
      std::string bound;
      if (ev.count > 0) bound = fmt::format("{} packets", ev.count);
      if (ev.duration_ms > 0)
        bound += (bound.empty() ? "" : " or ") + fmt::format("{:.0f}s", ev.duration_ms / 1000.0);
      if (bound.empty()) bound = "Ctrl-C";
      status(fmt::format("sonde: capturing on {} at {} ({}, snaplen {}) until {}{}",
                         render::terminal_safe(ev.interface), render::terminal_safe(ev.host),
                         render::terminal_safe(ev.linktype_name), ev.snaplen, bound,
                         ev.excluded ? "; leaving out the agent's own SSH connection" : ""),
             true);
      for (const auto& note : ev.notes) status("sonde: note: " + render::terminal_safe(note), true);
    };
    auto on_data = [&](const net::CaptureEvent& ev) {
      if (!write_error.message.empty() || reader_gone) return;
      packets = ev.packets;
      if (ev.offset != written) {
        write_error =
            Error{errc::kProtocol,
                  fmt::format("capture chunk at offset {}, expected {}", ev.offset, written),
                  {}};
        (void)(*s)->cancel(*id);
        return;
      }
      if (to_stdout) {
        auto st = write_all(
            1, std::string_view(reinterpret_cast<const char*>(ev.data.data()), ev.data.size()));
        if (!st.ok()) {
          // The reader (wireshark, tshark, head) went away: end the capture,
          // keep the summary.
          reader_gone = true;
          (void)(*s)->cancel(*id);
          return;
        }
      } else if (std::fwrite(ev.data.data(), 1, ev.data.size(), f) != ev.data.size()) {
        write_error = errno_error("write " + part, errno, "is the disk full?");
        (void)(*s)->cancel(*id);
        return;
      }
      written += ev.data.size();
      progress();
    };
    auto on_event = [&](const json& j) -> Status {
      auto ev = net::capture_event_from_json(j);
      if (!ev) return ev.error();
      switch (ev->phase) {
        case net::CaptureEvent::Phase::kStarted:
          on_started(ev->started);
          break;
        case net::CaptureEvent::Phase::kProgress:
          packets = ev->packets;
          wire = ev->bytes;
          progress();
          break;
        case net::CaptureEvent::Phase::kData:
          on_data(*ev);
          break;
      }
      return ok_status();
    };
    // After a Ctrl-C the agent stops at once, then flushes what it holds and
    // sends the summary: the grace is renewed by every message.
    auto reply = (*s)->wait(*id, on_event, -1, 10000);
    status_line.end();
    if (!reply) return fail_file(reply.error());
    auto r = net::capture_result_from_json(*reply);
    if (!r) return fail_file(r.error());
    if (!write_error.message.empty()) return fail_file(write_error);
    if (f) {
      bool ok = std::fflush(f) == 0;
      ok = std::fclose(f) == 0 && ok;
      f = nullptr;
      if (!ok)
        return fail_file(Error{errc::kIo, "writing " + part + " failed", "is the disk full?"});
      if (r->file_bytes != written)
        return fail_file(
            Error{errc::kIo,
                  fmt::format("the capture is {} bytes but {} arrived", r->file_bytes, written),
                  "the link may have dropped; run it again"});
      if (std::rename(part.c_str(), out_path.c_str()) != 0)
        return fail_file(errno_error("rename " + part + " to " + out_path));
    }
    if (reader_gone) {
      r->stopped_by = "reader";
      r->notes.push_back("stdout was closed (the reader went away): the capture ended there");
    }
    r->file_bytes = written;
    if (!out_path.empty() && !to_stdout) r->summary += " -> " + out_path;
    if (ctx.g.json) {
      json out = net::to_json(*r);
      out["file"] = out_path.empty() ? json(nullptr) : json(out_path);
      std::string j = json_text(out, 2);
      std::fprintf(human, "%s\n", j.c_str());
    } else {
      std::fputs(render::render_capture(*r, out_path).c_str(), human);
    }
    if (r->stats.dropped > 0 || r->stats.if_dropped > 0)
      std::fprintf(ctx.err,
                   "sonde: warning: packets were dropped (%llu by the kernel, %llu by the "
                   "interface): the capture and its summary miss them\n",
                   static_cast<unsigned long long>(r->stats.dropped),
                   static_cast<unsigned long long>(r->stats.if_dropped));
    return exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
