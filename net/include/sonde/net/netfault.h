// The network fault ops' contract (`inject_net`, `inject_list`,
// `inject_clear`): what the controller asks for, what the agent applied and
// what it found, one JSON form each. `sonde inject` builds NetFaultArgs from
// its flags and reads the results; the agent's handler reads NetFaultArgs
// and builds them; validate() is the one judge of a request. How a fault is
// put in place (tc, nftables, undo records) is net/fault_host.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::net {

inline constexpr long kDefaultFaultDurationMs = 30'000;
inline constexpr long kMaxFaultDurationMs = 600'000;  // without --force
inline constexpr long kMaxForcedFaultDurationMs = 7L * 24 * 3600 * 1000;
inline constexpr long kMaxFaultDelayMs = 60'000;
// The tc handle sonde reserves for the root qdisc it adds ("5d0e:").
inline constexpr uint32_t kFaultQdiscMajor = 0x5d0e;

struct NetFaultArgs {
  // Faults. delay/jitter/rate/duplicate/reorder shape what the host sends
  // (tc, on egress); loss drops that share of what reaches the host from
  // the scope (nftables, at prerouting: as if lost on the wire, so the
  // host's own sends never fail); reset and blackhole act both ways
  // (nftables).
  long delay_ms = 0;
  long jitter_ms = 0;  // needs delay
  double loss_pct = 0;
  std::string rate;  // a tc rate: "1mbit", "500kbit", "2mbps"
  double duplicate_pct = 0;
  double reorder_pct = 0;  // needs delay, as netem does
  bool reset = false;      // TCP answered with a reset, UDP with port-unreachable
  bool blackhole = false;  // dropped without an answer
  // Scope. pid and netns pick the network namespace (0 / "": the agent's own).
  long pid = 0;
  std::string netns;  // an `ip netns` name
  std::string peer;   // an IPv4/IPv6 address or CIDR
  long port = 0;      // a TCP/UDP port on either end; 0: any
  std::string dev;    // "": the device of the route to peer, or every up non-loopback one
  long duration_ms = kDefaultFaultDurationMs;
  bool force = false;  // a duration over 10 minutes
  bool plan = false;   // say what would change, change nothing
};

json to_json(const NetFaultArgs& a);
// Wrong types are errc::kBadArgs naming the field; missing fields keep
// their defaults.
Result<NetFaultArgs> netfault_args_from_json(const json& j);
// Ranges, units and conflicts, as errc::kBadArgs with a hint in the command
// line's terms (--delay, --peer, ...).
Status validate(const NetFaultArgs& a);

// A device name sonde puts in nft rules (inside quotes) and tc commands:
// letters, digits and _ - . :, at most 15 bytes. The kernel allows more
// (quotes among them); such a device must be left to someone else.
bool valid_device_name(const std::string& name);

// A fault that needs tc (a qdisc on the devices) / netem in particular.
bool has_tc_fault(const NetFaultArgs& a);
bool has_netem_fault(const NetFaultArgs& a);
// A fault that shapes traffic rather than stopping it (tc's, or loss).
bool has_shaping_fault(const NetFaultArgs& a);
// "delay 200ms ± 20ms, loss 5%", "reset".
std::string describe_faults(const NetFaultArgs& a);
// "to/from 198.18.0.3 port 80 on eth0 in netns blue", "all traffic".
std::string describe_scope(const NetFaultArgs& a);

// A tc rate in bits per second: a number and one of tc's units (bit, kbit,
// mbit, gbit, tbit, kibit..tibit, bps, kbps, ..., kibps..tibps), case
// insensitive. Nullopt when it is not one, or is outside 1kbit..100gbit.
std::optional<uint64_t> parse_rate_bits(std::string_view text);

// --peer as a network: its family (4 or 6), the network address (host
// bits cleared) and the prefix length.
struct PeerNet {
  int family = 4;
  std::string network;
  int prefix = 32;
  std::string text() const;  // "198.18.0.3" for a host, "10.1.0.0/16" else
};
std::optional<PeerNet> parse_peer(std::string_view text);

// What a fault put on one device.
struct NetFaultDevice {
  std::string dev;
  std::string qdisc;  // "htb 5d0e: class 5d0e:1f2b, netem 5d0f:"; "" when tc was not needed
};

// The answer to `inject_net`, and its "applied" event (phase "applied",
// the same fields as known then).
struct NetFaultResult {
  std::string id;  // names the undo record and the nft table
  std::string host;
  std::string what;   // describe_faults
  std::string scope;  // describe_scope
  std::string netns;  // which namespace, in words
  std::vector<NetFaultDevice> devices;
  std::string table;         // "inet sonde_fault_<id>", "" when nftables was not needed
  std::string ssh_excluded;  // "client:port <-> server:port", "" when there was none
  int64_t started_ns = 0;    // wall clock of the agent's host
  int64_t ends_ns = 0;       // started + duration
  int64_t ended_ns = 0;      // when it was removed; 0 before
  bool planned_only = false;
  std::vector<std::string> plan;  // the commands, in order, and how they are undone
  bool applied = false;
  bool undone = false;
  std::string stopped;  // "duration", "cancelled", "cleared" (an `inject_clear` removed it)
  std::string undo;     // what the undo did, in words
  std::vector<std::string> notes;
};

json to_json(const NetFaultResult& r);
// Strict: errc::kProtocol naming the field.
Result<NetFaultResult> netfault_result_from_json(const json& j);
// {phase: "applied", ...the result's fields}
json applied_event(const NetFaultResult& r);
// The event's result fields; a phase other than "applied" fails.
Result<NetFaultResult> netfault_event_from_json(const json& j);

// `inject_list` and `inject_clear` take an optional scope: only the
// injections in that network namespace.
struct InjectScopeArgs {
  long pid = 0;
  std::string netns;
};
json to_json(const InjectScopeArgs& a);
Result<InjectScopeArgs> inject_scope_args_from_json(const json& j, std::string_view op);
Status validate(const InjectScopeArgs& a);

// One injection as its undo record tells it.
struct InjectionInfo {
  std::string id;
  std::string kind = "net";
  std::string what;
  std::string scope;
  std::string netns;
  std::vector<std::string> devices;
  std::string table;
  int64_t started_ns = 0;
  int64_t ends_ns = 0;
  long owner_pid = 0;  // the agent that applied it
  bool owner_alive = false;
  std::string record;  // the undo record's path
  std::string undo;    // inject_clear: what removing it did
};

struct InjectListResult {
  std::vector<InjectionInfo> injections;
  std::vector<std::string> notes;
};
// `inject_clear`: the injections it removed.
struct InjectClearResult {
  std::vector<InjectionInfo> removed;
  std::vector<std::string> notes;
};

json to_json(const InjectListResult& r);
json to_json(const InjectClearResult& r);
Result<InjectListResult> inject_list_result_from_json(const json& j);
Result<InjectClearResult> inject_clear_result_from_json(const json& j);

}  // namespace sonde::net
