// TCP connection checks for `sonde connect`: each attempt classified as open,
// refused (RST), timeout (no answer), unreachable (ICMP, with type, code and
// the router that sent it, read from the socket's error queue), no-route
// (the local kernel has no route) or unresolved (getaddrinfo), the source
// address and the route the kernel chose (rtnetlink RTM_GETROUTE), and an
// optional hold that reports when the peer closed or reset the connection.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sonde/common/cancel.h"
#include "sonde/common/result.h"
#include "sonde/net/side.h"

namespace sonde::net {

// Stable verdict strings (JSON "verdict").
namespace verdict {
inline constexpr const char* kOpen = "open";
inline constexpr const char* kRefused = "refused";          // RST in answer to the SYN
inline constexpr const char* kTimeout = "timeout";          // nothing came back in time
inline constexpr const char* kUnreachable = "unreachable";  // an ICMP error (see icmp)
inline constexpr const char* kNoRoute = "no-route";         // the local kernel has no route
inline constexpr const char* kUnresolved = "unresolved";    // getaddrinfo failed
inline constexpr const char* kError = "error";              // any other local failure
inline constexpr const char* kCancelled = "cancelled";
}  // namespace verdict

// An ICMP error taken from the socket's error queue (IP_RECVERR /
// IPV6_RECVERR), or built from errno when the queue had nothing.
struct IcmpInfo {
  int type = -1, code = -1;  // -1 when only errno is known
  bool v6 = false;
  std::string kind;        // "host-unreachable", "admin-prohibited", ... (icmp_kind)
  std::string from;        // the offender: the router or host that sent it; may be empty
  bool from_self = false;  // sent by this host (its neighbour resolution failed)
};

// "admin-prohibited" for (3, 13); "type 5 code 1" when not a destination
// unreachable we know.
std::string icmp_kind(bool v6, int type, int code);
// "admin prohibited (icmp type 3 code 13)"
std::string icmp_describe(const IcmpInfo& i);

struct HoldResult {
  long requested_ms = 0;
  std::string outcome;  // "stayed-open", "closed" (FIN), "reset" (RST), "error", "cancelled"
  long after_ms = 0;    // when the outcome happened (== requested_ms for stayed-open)
  long bytes_received = 0;
  std::string banner;     // the first line the peer sent, escaped, at most 120 characters
  std::string tcp_state;  // TCP_INFO state at the end: "ESTABLISHED", "CLOSE_WAIT", ...
  long rtt_us = -1;       // TCP_INFO smoothed RTT, -1 when unknown
  std::string error;      // for "error": the errno text
};

struct Attempt {
  int attempt = 0;      // 1-based; several rows share it when addresses are tried in turn
  std::string address;  // numeric, "" when the name did not resolve
  std::string family;   // "ipv4", "ipv6", ""
  std::string verdict;
  double ms = 0;           // from connect() to the verdict
  std::string evidence;    // "syn-ack", "rst", "icmp", "errno", "local", "no-answer", "getaddrinfo"
  std::string detail;      // one sentence for humans
  int sys_errno = 0;       // SO_ERROR / connect() errno, 0 for open and timeout
  std::string errno_name;  // "ECONNREFUSED", ...
  std::string source;      // "198.18.0.2:41234" as getsockname saw it, "" when none was chosen
  std::optional<IcmpInfo> icmp;
  std::optional<HoldResult> hold;
  // For a timeout: the neighbour (ARP/NDP) entry of the next hop (the address
  // itself on a direct route, else the gateway) after the wait: INCOMPLETE or
  // FAILED means nothing answered on the link (host or gateway down), not a
  // firewall; REACHABLE/STALE means the next hop is there.
  std::string neighbour;        // the next hop's address, "" when not looked at
  std::string neighbour_state;  // "REACHABLE", "STALE", "INCOMPLETE", "FAILED", "NONE", ...
};

struct RouteInfo {
  std::string destination;  // the address asked about
  std::string type;         // "unicast", "local", "unreachable", "prohibit", "blackhole", ...
  std::string dev;          // output interface name ("" when none)
  int oif = 0;
  std::string gateway;  // "" for a direct route
  std::string prefsrc;  // the source address the kernel picks
  int table = 0;
  uint32_t mtu = 0;   // RTAX_MTU when the route (or a learned PMTU) has one, else 0
  std::string error;  // the lookup's error ("Network is unreachable") or ""
};

// Parses one RTM_GETROUTE reply (a whole netlink datagram). Every header and
// attribute length is checked; garbage or truncation is errc::kProtocol, an
// NLMSG_ERROR reply is an Error carrying its errno (code from errno).
Result<RouteInfo> parse_route_reply(const uint8_t* data, size_t len);
// Asks the kernel which route it uses to reach addr (sockaddr_in or
// sockaddr_in6). Errors only for a local failure (no netlink); a failed lookup
// is a RouteInfo with `error` set.
Result<RouteInfo> route_get(const sockaddr* addr, socklen_t len);

// Parses one RTM_GETNEIGH reply into the state name ("REACHABLE", ...);
// checked like parse_route_reply.
Result<std::string> parse_neigh_reply(const uint8_t* data, size_t len);
// The kernel's neighbour entry for ip on interface ifindex; "NONE" when
// there is no entry.
Result<std::string> neighbour_state(const std::string& ip, int ifindex);

struct ConnectOptions {
  std::string host;
  int port = 0;
  int count = 3;
  long interval_ms = 1000;
  long timeout_ms = 3000;
  long hold_ms = 0;            // 0: close at once
  int family = AF_UNSPEC;      // AF_INET / AF_INET6 to restrict
  bool all_addresses = false;  // try every resolved address in each attempt
};

// Limits on what one check may do (args outside are kBadArgs).
inline constexpr int kMaxCount = 100;
inline constexpr long kMaxTimeoutMs = 60000;
inline constexpr long kMaxIntervalMs = 60000;
inline constexpr long kMaxHoldMs = 3600 * 1000;
inline constexpr size_t kMaxAddresses = 8;

// kBadArgs naming the field, with a hint.
Status validate(const ConnectOptions& o);

// "web1:80", "[::1]:22", "198.18.0.3:443" → host, port. kBadArgs with a hint.
Result<std::pair<std::string, int>> parse_host_port(const std::string& s);

// One connection attempt to one address: a non-blocking connect, poll up to
// timeout_ms (cancel polled every 100 ms), SO_ERROR, then the error queue.
// hold_ms > 0 keeps an open connection that long.
Attempt connect_once(const sockaddr* addr, socklen_t len, long timeout_ms, long hold_ms,
                     CancelToken* cancel);

// The net.connect result: what was asked, what the name resolved to, every
// attempt row and the route to each address tried. Its JSON form, with the
// verdict and summary derived from it, is in connect_contract.h.
struct ConnectResult {
  std::string agent_host;  // "host": where the attempts were made (set by the handler)
  ConnectOptions options;
  std::vector<std::string> addresses;
  std::string resolve_error;
  long resolve_ms = 0;
  std::vector<Attempt> attempts;
  std::vector<RouteInfo> routes;  // one per distinct address tried
  std::vector<std::string> notes;
  bool cancelled = false;
  long elapsed_ms = 0;
};

// The whole check: resolve, then count attempts (each trying the addresses in
// order until one opens, or all of them with all_addresses), interval_ms
// apart. on_attempt, when set, sees each row as it is made.
ConnectResult connect_check(const ConnectOptions& o, CancelToken* cancel,
                            const std::function<void(const Attempt&)>& on_attempt = {});

// Attempts (not rows: the rows of one attempt share its number) that opened,
// and attempts made.
std::pair<int, int> attempts_opened(const ConnectResult& r);
// The last row that did not open (the one a failure is about), or nullptr.
const Attempt* last_failure(const std::vector<Attempt>& attempts);
// The side's overall verdict from its attempts: "open" when every attempt
// opened, "intermittent" when some did, else the verdict of the last failing
// row; "cancelled" or "error" when no row was made.
std::string overall_verdict(const ConnectResult& r);
// The one line for the case journal: "web:80 (198.18.0.3) refused (RST)
// (3/3 attempts), from 198.18.0.2, via eth0 direct".
std::string connect_summary(const ConnectResult& r);
// One sentence explaining a failing row for humans.
std::string explain(const Attempt& a, const std::string& port);
// Comparison between sides: one line on how each fared and what the
// difference means, and one when they used different addresses.
std::vector<std::string> connect_comparison(const std::vector<Side<ConnectResult>>& sides);

}  // namespace sonde::net
