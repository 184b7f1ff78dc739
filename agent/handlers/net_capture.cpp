// `net.capture`: a live capture on this host (net/capture.h), its packets
// streamed back as a pcap file in `data` events when asked (`stream`), its
// summary (flows, DNS, drops) the result. The agent's own SSH session is left
// out by default (`exclude_ssh`). Arguments, events and result: net/capture_contract.h.
#include "../handler.h"
#include "../ssh_connection.h"
#include "sonde/net/capture.h"
#include "sonde/net/capture_contract.h"

namespace sonde::agent {

void register_net_capture(Registry& reg) {
  reg["net.capture"] = [](RequestContext& ctx) -> Result<json> {
    auto args = net::capture_args_from_json(ctx.args);
    if (!args) return args.error();
    if (auto st = net::validate(*args); !st) return st.error();
    const net::CaptureArgs& a = *args;

    net::CaptureOptions o;
    o.interface = a.interface;
    o.filter = a.filter;
    o.snaplen = static_cast<int>(a.snaplen == 0 ? net::kMaxSnaplen : a.snaplen);  // tcpdump's -s 0
    o.count = a.count;
    o.duration_ms = a.duration_ms;
    o.promisc = a.promisc;
    o.stream = a.stream;
    o.buffer_kib = a.buffer_kib;
    o.top_flows = static_cast<size_t>(a.flows);
    if (a.exclude_ssh) o.ssh_connection = ssh_connection();
    auto r = net::capture(o, ctx.cancel, ctx.emit);
    if (!r) return r.error();
    return net::to_json(*r);
  };
}

}  // namespace sonde::agent
