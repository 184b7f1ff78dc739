// DNS answers as the agent receives them from a nameserver (and from a
// capture): dns_decode on the whole input, then what `sonde dns` makes of a
// decoded answer. The same bytes as resolv.conf text, the other untrusted
// input of `sonde dns`.
#include <cstdint>

#include "fuzz_input.h"
#include "sonde/net/dns.h"

using namespace sonde;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = net::dns_decode(data, size);
  if (m.ok()) {
    net::ServerAnswer a;
    a.server = "127.0.0.1";
    a.rcode = net::dns_rcode_name(m->rcode);
    a.answers = m->answers;
    net::ServerAnswer b = a;
    b.answers.clear();
    json side = {{"side", "here"}, {"result", {{"nameservers", {net::to_json(a), net::to_json(b)}}}}};
    (void)net::dns_differences({side, side});
    // Names come back escaped to ASCII: the JSON text output cannot throw.
    (void)net::to_json(a).dump();
    for (const auto& q : m->questions) {
      (void)net::dns_type_name(q.type);
      (void)net::dns_encode_query(m->id, q.name, q.type);
    }
  }
  auto rc = net::parse_resolv_conf(std::string(fuzz::as_text(data, size)));
  (void)rc;
  return 0;
}
