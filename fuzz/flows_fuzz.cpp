// Captured packets, which anyone on the network can shape: a pcap file (as
// `sonde capture` writes and the agent's live capture feeds) through
// FlowAnalyzer, then its JSON summary. Input without a pcap header is one
// packet of the link type its first byte picks.
#include <cstdint>
#include <cstring>

#include "fuzz_input.h"
#include "sonde/net/capture_contract.h"
#include "sonde/net/flows.h"

using namespace sonde;

namespace {

uint32_t get32(const uint8_t* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small tables, so the full-table paths run too.
  net::FlowAnalyzer fa(net::FlowLimits{8, 4});
  uint32_t magic = size >= 4 ? get32(data, false) : 0;
  bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
  bool nanos = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
  if (size >= 24 && (swap || nanos || magic == 0xa1b2c3d4)) {
    int linktype = static_cast<int>(get32(data + 20, swap) & 0xffff);
    size_t off = 24;
    while (size - off >= 16) {
      const uint8_t* h = data + off;
      int64_t ts = int64_t{get32(h, swap)} * 1000000 + get32(h + 4, swap) / (nanos ? 1000 : 1);
      size_t caplen = get32(h + 8, swap), orig = get32(h + 12, swap);
      off += 16;
      if (caplen > size - off) break;
      fa.add(ts, linktype, data + off, caplen, orig < caplen ? caplen : orig);
      off += caplen;
    }
  } else if (size > 0) {
    static const int kTypes[] = {net::linktype::kNull,     net::linktype::kEthernet,
                                 net::linktype::kRaw,      net::linktype::kLoop,
                                 net::linktype::kLinuxSll, net::linktype::kIpv4,
                                 net::linktype::kIpv6,     net::linktype::kLinuxSll2};
    fa.add(1, kTypes[data[0] % 8], data + 1, size - 1, size - 1);
  }
  (void)net::to_json(fa.summary(5, 5)).dump();
  return 0;
}
