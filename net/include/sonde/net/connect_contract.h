// The `net.connect` op's contract: ConnectOptions (connect.h) as its args and
// ConnectResult (connect.h) as its result, one JSON form each, used by
// `sonde connect`, `sonde diagnose` and the handler; validate(const
// ConnectOptions&) in connect.h is the one judge of a request.
#pragma once

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/connect.h"

namespace sonde::net {

// The rows a result may hold: every attempt tries each address at most once.
inline constexpr size_t kMaxAttemptRows = kMaxCount * kMaxAddresses;

// family travels as "any", "4" or "6".
json connect_args_json(const ConnectOptions& o);
// Wrong types (and a family that is none of those) are errc::kBadArgs
// naming the field; missing fields keep ConnectOptions' defaults, except
// count, which defaults to 1 as older controllers expect.
Result<ConnectOptions> connect_args_from_json(const json& j);

json to_json(const Attempt& a);
json to_json(const RouteInfo& r);
// The net.connect result:
//   host      the agent's hostname
//   target    {host, port}                  as asked
//   options   {count, interval_ms, timeout_ms, hold_ms, family: "any"|"4"|"6", all_addresses}
//   resolve   {addresses: [numeric, in getaddrinfo order, at most 8], error: "" or
//              getaddrinfo's text, ms}
//   attempts  [row], in order; rows of one attempt share "attempt" (addresses tried in turn)
//     row: {attempt, address ("" if unresolved), family "ipv4"|"ipv6"|"", verdict (see
//           namespace verdict), ms (double, connect() to verdict), evidence ("syn-ack", "rst",
//           "icmp" = from the error queue, "errno" = errno only, "local" = connect() failed
//           before sending, "no-answer", "getaddrinfo"), detail (a sentence), errno,
//           errno_name, source ("ip:port" / "[ip6]:port", "" when none was bound),
//           icmp: null | {type, code (-1 when errno only), v6, kind (icmp_kind), from
//           (the sender, "" if unknown), from_self (this host sent it: ARP/ND failed)},
//           hold: null | {requested_ms, outcome "stayed-open"|"closed"|"reset"|"error"|
//           "cancelled", after_ms, bytes_received, banner, tcp_state, rtt_us, error},
//           neighbour, neighbour_state (timeouts only, see Attempt)}
//   routes    [{destination, type, dev, oif, gateway ("" = direct), via (gateway or
//              "direct"), source (prefsrc), table, mtu (0 = none), error ("" or the lookup's
//              error, e.g. "Network is unreachable")}], one per address tried
//   notes     [strings], cancelled (bool), elapsed_ms
// and, derived from those on both ends (so never read back):
//   attempts_opened, attempts_total   attempts_opened()
//   verdict   overall_verdict()
//   connected verdict == "open"
//   summary   connect_summary()
json to_json(const ConnectResult& r);
// Strict: errc::kProtocol naming the field, with the agent mismatch hint.
Result<ConnectResult> connect_result_from_json(const json& j);

}  // namespace sonde::net
