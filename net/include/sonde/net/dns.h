// DNS for `sonde dns`: a wire-format codec (RFC 1035, 3596, 2782), the
// resolv.conf parser, a direct query to one nameserver (UDP, TCP when the
// answer is truncated) and the system resolver (getaddrinfo).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sonde/common/cancel.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::net {

namespace dnstype {
inline constexpr uint16_t kA = 1, kNS = 2, kCNAME = 5, kSOA = 6, kPTR = 12, kMX = 15, kTXT = 16,
                          kAAAA = 28, kSRV = 33;
}

struct DnsQuestion {
  std::string name;
  uint16_t type = 0;
  uint16_t cls = 1;
};

struct DnsRecord {
  std::string name;
  uint16_t type = 0;
  uint16_t cls = 1;
  uint32_t ttl = 0;
  std::string data;  // presentation form: "198.18.0.5", "10 mx.example.", "\"txt\""
};

struct DnsMessage {
  uint16_t id = 0;
  bool response = false;
  bool truncated = false;
  int rcode = 0;
  std::vector<DnsQuestion> questions;
  std::vector<DnsRecord> answers, authority, additional;
};

// "A" → 1; unknown names are kBadArgs.
Result<uint16_t> dns_type_from_string(const std::string& s);
std::string dns_type_name(uint16_t t);  // 1 → "A", 99 → "TYPE99"
std::string dns_rcode_name(int rcode);  // 3 → "NXDOMAIN"

// A query with one question (RD set). Names longer than 255 or with labels
// longer than 63 are kBadArgs.
Result<std::vector<uint8_t>> dns_encode_query(uint16_t id, const std::string& name, uint16_t type);
// Decodes a whole message; any length that does not fit, a compression loop
// or a pointer past the end is an Error (errc::kProtocol), never a crash.
Result<DnsMessage> dns_decode(const uint8_t* data, size_t len);

// "198.18.0.5" → "5.0.18.198.in-addr.arpa", IPv6 nibbles under ip6.arpa.
// An empty string when `ip` is not an address.
std::string dns_ptr_name(const std::string& ip);

struct ResolvConf {
  std::vector<std::string> nameservers;
  std::vector<std::string> search;
  int timeout_s = 5;
  int attempts = 2;
  std::vector<std::string> notes;  // lines we did not understand
};
ResolvConf parse_resolv_conf(const std::string& text);

struct ServerAnswer {
  std::string server;  // as given: "127.0.0.1", "127.0.0.1:5353", "[::1]:53"
  std::string rcode;   // empty when no answer came
  std::vector<DnsRecord> answers;
  long ms = 0;
  std::string error;
  bool truncated_retried = false;
};

// Asks one server directly; every wait is bounded by timeout_ms (UDP and the
// TCP retry each get it) and cancel is polled.
ServerAnswer dns_query_server(const std::string& server, const std::string& name, uint16_t type,
                              long timeout_ms, CancelToken* cancel);

struct SystemAnswer {
  std::vector<std::string> addresses;  // or the host name for a reverse lookup
  std::string error;
  long ms = 0;
};
// getaddrinfo (getnameinfo for an IP address).
SystemAnswer dns_system_resolve(const std::string& name);

json to_json(const ServerAnswer& a);
json to_json(const SystemAnswer& a);

// Differences between sides, each side an object {"side": label, "result":
// the net.dns result}: one sentence per difference.
std::vector<std::string> dns_differences(const std::vector<json>& sides);

}  // namespace sonde::net
