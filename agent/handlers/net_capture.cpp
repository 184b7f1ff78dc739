// `net.capture`: a live capture on this host (net/capture.h), its packets
// streamed back as a pcap file in `data` events when asked (`stream`), its
// summary (flows, DNS, drops) the result. The agent's own SSH session is left
// out by default (`exclude_ssh`).
#include <unistd.h>

#include <cstdlib>

#include "../handler.h"
#include "sonde/net/capture.h"
#include "sonde/proc/environ.h"

namespace sonde::agent {
namespace {

// The SSH connection this agent was started over, from our environment, or,
// when sudo dropped it, from the nearest ancestor's (sshd's session shell has
// it).
std::string ssh_connection() {
  if (const char* v = std::getenv("SSH_CONNECTION"); v && *v) return v;
  return proc::ancestor_environ_value(::getppid(), "SSH_CONNECTION", 6).value_or("");
}

}  // namespace

void register_net_capture(Registry& reg) {
  reg["net.capture"] = [](RequestContext& ctx) -> Result<json> {
    auto iface_a = arg_string(ctx.args, "interface", "any");
    if (!iface_a) return iface_a.error();
    std::string iface = iface_a->empty() ? "any" : *iface_a;
    if (iface.size() > 64 || iface.find('\0') != std::string::npos)
      return Error{errc::kBadArgs, "interface name too long", {}};
    auto filter = arg_string(ctx.args, "filter", "");
    if (!filter) return filter.error();
    if (filter->size() > 8192) return Error{errc::kBadArgs, "the filter is over 8 KiB", {}};
    auto snaplen = arg_int(ctx.args, "snaplen", 262144);
    if (!snaplen) return snaplen.error();
    if (*snaplen == 0) *snaplen = 262144;  // tcpdump's -s 0
    if (*snaplen < 1 || *snaplen > 262144)
      return Error{errc::kBadArgs, "snaplen must be 1..262144 (0: the whole packet)", {}};
    auto count = arg_int(ctx.args, "count", 0);
    if (!count) return count.error();
    if (*count < 0) return Error{errc::kBadArgs, "count must be >= 0 (0: no limit)", {}};
    auto duration = arg_int(ctx.args, "duration_ms", 30000);
    if (!duration) return duration.error();
    if (*duration < 0) return Error{errc::kBadArgs, "duration_ms must be >= 0 (0: no limit)", {}};
    auto promisc = arg_bool(ctx.args, "promisc", false);
    if (!promisc) return promisc.error();
    auto stream = arg_bool(ctx.args, "stream", true);
    if (!stream) return stream.error();
    auto exclude_ssh = arg_bool(ctx.args, "exclude_ssh", true);
    if (!exclude_ssh) return exclude_ssh.error();
    auto buffer_kib = arg_int(ctx.args, "buffer_kib", 4096);
    if (!buffer_kib) return buffer_kib.error();
    if (*buffer_kib < 64 || *buffer_kib > 1024 * 1024)
      return Error{errc::kBadArgs, "buffer_kib must be 64..1048576", {}};
    auto top = arg_int(ctx.args, "flows", 20);
    if (!top) return top.error();
    if (*top < 0 || *top > 10000) return Error{errc::kBadArgs, "flows must be 0..10000", {}};

    net::CaptureOptions o;
    o.interface = iface;
    o.filter = *filter;
    o.snaplen = static_cast<int>(*snaplen);
    o.count = *count;
    o.duration_ms = *duration;
    o.promisc = *promisc;
    o.stream = *stream;
    o.buffer_kib = *buffer_kib;
    o.top_flows = static_cast<size_t>(*top);
    if (*exclude_ssh) o.ssh_connection = ssh_connection();
    return net::capture(o, ctx.cancel, ctx.emit);
  };
}

}  // namespace sonde::agent
