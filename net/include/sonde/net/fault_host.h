// Network faults put in place on this host, and taken out again. The one
// place in sonde that changes a host's network.
//
// What is added, inside the target's network namespace, and nothing else:
// - tc (delay, jitter, loss, duplicate, reorder, rate): on each device a root
//   htb with the reserved handle 5d0e: whose unclassified traffic goes out
//   unshaped (default 0), one class 5d0e:N per injection (N from its id; the
//   rate, if any) and a netem 5d0f: below it. An nftables rule in the
//   injection's table (postrouting) sets the packets in scope to priority
//   5d0e:N, which htb takes as their class: one matcher, nftables', for both
//   address families and for the transport header wherever it starts.
//   Only a root qdisc the kernel made (handle 0:) is replaced; deleting ours
//   gives the kernel's default back.
// - nftables (reset, blackhole, and the classifying rule above): one table
//   per injection, `inet sonde_fault_<id>`, whose chains first accept the
//   SSH connection the agent runs over.
//
// Before anything changes, an undo record is written under
// /run/sonde/inject (and fsync'd) and registered with the undo watchdog;
// undo_fault() needs nothing but the record, so the watchdog (the agent
// died) and the next agent to start (the watchdog died too) can take the
// fault out. Undo is idempotent and removes only the injection's own table
// and a root qdisc that still carries its mark (htb's r2q = its class minor).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/address.h"
#include "sonde/net/netfault.h"

namespace sonde::net {

inline constexpr const char* kFaultRecordDir = "/run/sonde/inject";

// A network namespace: a path to it and its identity (the nsfs device and
// inode), so that a reused pid or a recreated name is never acted on.
struct NetnsRef {
  std::string path;  // /proc/self/ns/net, /proc/PID/ns/net, /run/netns/NAME
  uint64_t dev = 0;
  uint64_t ino = 0;
  std::string what;  // "the agent's network namespace", "netns blue", ...
};

// The namespace of pid (> 0), of the `ip netns` name, or the agent's own.
// not_found when the process or the name is not there.
Result<NetnsRef> resolve_netns(long pid, const std::string& name);

// The undo record of one injection: everything undo_fault() needs.
struct FaultRecord {
  std::string id;
  std::string what;   // describe_faults
  std::string scope;  // describe_scope
  NetnsRef netns;
  std::vector<std::string> devices;
  bool tc = false;               // each device has our root qdisc: handle, class handle:class_minor
  std::string handle = "5d0e:";  // the root qdisc's (kFaultQdiscMajor)
  uint32_t class_minor = 0;
  std::string table;   // the nft table (family inet); "" when none
  long owner_pid = 0;  // the agent that applied it, and its start time
  uint64_t owner_start = 0;
  int64_t started_ns = 0;
  int64_t ends_ns = 0;
  std::string path;  // the record's file
};

json to_json(const FaultRecord& r);
Result<FaultRecord> fault_record_from_json(const json& j);
// The owning agent still runs (same pid, same start time).
bool owner_alive(const FaultRecord& r);
InjectionInfo injection_info(const FaultRecord& r);

// What an injection will run, built from its args and what the agent found
// (the devices, its SSH connection). Pure: the unit tests read it.
struct FaultPlan {
  std::string id;
  std::string table;  // "" when no nft rule is needed
  uint32_t class_minor = 0;
  std::vector<std::string> devices;
  std::vector<std::vector<std::string>> tc;  // tc's argv (without "tc"), in order
  std::string nft;                           // nft -f input
  std::string ssh_excluded;                  // "C:CP <-> S:SP"
  std::vector<std::string> lines;            // the plan, for people
  std::vector<NetFaultDevice> applied;       // per device, what it gets
};

// A fresh injection id: 8 hex digits.
std::string new_fault_id();
std::string fault_table_name(const std::string& id);
uint32_t fault_class_minor(const std::string& id);

Result<FaultPlan> build_fault_plan(const NetFaultArgs& a, const std::vector<std::string>& devices,
                                   const std::optional<SshConnection>& ssh, const std::string& id);

// A root qdisc sonde may replace: one the kernel made (handle 0:). Ours
// (5d0e:) means another injection shapes the device; anything else was set
// up by someone and is left alone. Errors say which, with a hint.
Status check_root_qdisc(const std::string& dev, const std::string& kind, const std::string& handle);

// The devices a fault goes on: --dev, else the device of the route to the
// peer, else every up non-loopback device; with tc faults each one's root
// qdisc is checked. Queries only: plan mode runs this too.
Result<std::vector<std::string>> fault_devices(const NetFaultArgs& a, const NetnsRef& ns);

// Runs the plan's commands, holding rec's lock (its record is on disk by
// then) so that no undo runs in between. On an error some may have run:
// the caller undoes with the record (which covers a partial apply).
Status apply_fault(const FaultPlan& p, const NetnsRef& ns, const FaultRecord& rec);

// Takes the injection out (idempotent) and says what it did, after any
// apply of it still running (the record's lock).
struct UndoOutcome {
  bool ok = true;       // false: something of it may still be in place
  std::string actions;  // "nft table inet sonde_fault_1a2b3c4d removed; eth0: qdisc removed"
  std::string log;      // the same, saying which injection where: for logs
};
UndoOutcome undo_fault(const FaultRecord& r);

// The records directory: made (0700, owned by us) when missing; refused
// when it is a symlink, not a directory, not ours or writable by others.
Status ensure_record_dir(const std::string& dir = kFaultRecordDir);
// Where the record of injection id lives: DIR/net-<id>.json.
std::string fault_record_path(const std::string& id, const std::string& dir = kFaultRecordDir);
// Writes r to its path (a temp file beside it, fsync, rename, fsync of the
// directory), setting r.path.
Status write_fault_record(FaultRecord& r, const std::string& dir = kFaultRecordDir);
// Removes the record and a temp file a write cut short left. ENOENT is
// fine: an `inject_clear` or the watchdog got there first.
Status remove_fault_record(const FaultRecord& r);
bool fault_record_exists(const FaultRecord& r);
// Every record in dir (none when it does not exist); unreadable ones are
// noted and skipped.
std::vector<FaultRecord> read_fault_records(const std::string& dir = kFaultRecordDir,
                                            std::vector<std::string>* notes = nullptr);
// Undoes and removes the records whose agent is gone; what it did, a line
// each. What an agent runs as it starts.
std::vector<std::string> replay_fault_records(const std::string& dir = kFaultRecordDir);

}  // namespace sonde::net
