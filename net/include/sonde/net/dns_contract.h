// The `net.dns` op's contract: DnsArgs (the name, type, nameservers) and
// DnsResult (the system resolver's answer and each nameserver's), one JSON
// form each, used by `sonde dns`, `sonde diagnose` and the handler.
// validate() is the one judge of a request.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/dns.h"

namespace sonde::net {

inline constexpr long kMaxDnsTimeoutMs = 60000;
inline constexpr size_t kMaxNameservers = 16;

struct DnsArgs {
  std::string name;
  std::string type;     // "" = A, or PTR for an address
  long timeout_ms = 0;  // per nameserver; 0 = resolv.conf's, at most 5 s
  // Unset: resolv.conf's.
  std::optional<std::vector<std::string>> nameservers;
  std::string resolv_conf = "/etc/resolv.conf";
};

json to_json(const DnsArgs& a);
// Wrong types are errc::kBadArgs naming the field.
Result<DnsArgs> dns_args_from_json(const json& j);
// Name length, record type, timeout, nameserver count: errc::kBadArgs.
Status validate(const DnsArgs& a);

struct DnsResult {
  std::string host;  // the agent's hostname
  std::string query_name;
  std::string query_type;
  SystemAnswer system;
  std::vector<ServerAnswer> nameservers;
  std::vector<std::string> search;
  std::vector<std::string> notes;
};

json to_json(const DnsResult& r);
// Strict: errc::kProtocol naming the field, with the agent mismatch hint.
// Record types come back as names ("A", "TYPE99").
Result<DnsResult> dns_result_from_json(const json& j);

}  // namespace sonde::net
