#include "capture_device.h"

#include <cstring>

#include "sonde/net/flows.h"

namespace sonde::net {
namespace {

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

// The user's filter alone first, so an error quotes what they wrote; then
// with the SSH exclusion added.
Status set_filter(CaptureDevice& dev, const CaptureOptions& opts) {
  pcap_t* p = dev.pcap.get();
  const std::string& iface = opts.interface;
  const std::string& filter = opts.filter;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  bpf_u_int32 net = 0, mask = PCAP_NETMASK_UNKNOWN;
  if (iface != "any" && pcap_lookupnet(iface.c_str(), &net, &mask, errbuf) != 0)
    mask = PCAP_NETMASK_UNKNOWN;
  bpf_program prog{};
  if (!filter.empty()) {
    if (pcap_compile(p, &prog, filter.c_str(), 1, mask) != 0)
      return Error{errc::kBadArgs,
                   fmt::format("bad capture filter `{}`: {}", filter, pcap_geterr(p)),
                   "filters use tcpdump's syntax (man pcap-filter), e.g. "
                   "'tcp port 443 and host 10.0.0.5'"};
    pcap_freecode(&prog);
  }
  if (!opts.ssh_connection.empty()) dev.excluded = ssh_exclusion(opts.ssh_connection);
  const auto& excl = dev.excluded;
  std::string effective = filter;
  if (excl) effective = filter.empty() ? excl->filter : "(" + filter + ") and " + excl->filter;
  if (!effective.empty()) {
    if (pcap_compile(p, &prog, effective.c_str(), 1, mask) != 0)
      return Error{errc::kBadArgs,
                   fmt::format("capture filter `{}`: {}", effective, pcap_geterr(p)),
                   excl ? "the agent adds the exclusion of its own SSH session; "
                          "--no-exclude-ssh leaves it out"
                        : ""};
    int set = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (set != 0)
      return Error{errc::kIo, fmt::format("capture: setting the filter: {}", pcap_geterr(p)), {}};
  }
  dev.effective_filter = effective;
  return ok_status();
}

}  // namespace

Result<CaptureDevice> open_capture(const CaptureOptions& opts) {
  const std::string& iface = opts.interface;
  CaptureDevice dev;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  dev.pcap.reset(pcap_create(iface.c_str(), errbuf));
  pcap_t* p = dev.pcap.get();
  if (!p) return Error{errc::kIo, fmt::format("capture on {}: {}", iface, errbuf), {}};
  pcap_set_snaplen(p, opts.snaplen);
  pcap_set_promisc(p, opts.promisc ? 1 : 0);
  // Packets as they come, not when the kernel's block fills: a live pipe
  // into Wireshark and a prompt --count need it.
  pcap_set_immediate_mode(p, 1);
  pcap_set_buffer_size(p, static_cast<int>(opts.buffer_kib * 1024));
  int rc = pcap_activate(p);
  if (rc < 0) return activate_error(rc, p, iface);
  if (rc == PCAP_WARNING_PROMISC_NOTSUP)
    dev.notes.push_back(
        fmt::format("{} cannot be put in promiscuous mode: captured without it", iface));
  else if (rc > 0)
    dev.notes.push_back(fmt::format("pcap: {}", pcap_geterr(p)));
  // On `any`, the v2 cooked header also says which interface each packet
  // used (tcpdump does the same).
  if (iface == "any") {
    int* dlts = nullptr;
    int n = pcap_list_datalinks(p, &dlts);
    for (int i = 0; i < n; ++i)
      if (dlts[i] == DLT_LINUX_SLL2) pcap_set_datalink(p, DLT_LINUX_SLL2);
    if (n > 0) pcap_free_datalinks(dlts);
  }
  dev.linktype = linktype_from_dlt(pcap_datalink(p));
  dev.snaplen = pcap_snapshot(p);
  if (!linktype_supported(dev.linktype))
    dev.notes.push_back(
        fmt::format("link type {} is not decoded by the summary: the pcap file has the packets",
                    linktype_name(dev.linktype)));
  if (auto f = set_filter(dev, opts); !f) return f.error();
  if (pcap_setnonblock(p, 1, errbuf) != 0)
    return Error{errc::kIo, fmt::format("capture: {}", errbuf), {}};
  dev.fd = pcap_get_selectable_fd(p);
  if (dev.fd < 0) return Error{errc::kIo, "capture: no selectable descriptor for this device", {}};
  return dev;
}

}  // namespace sonde::net
