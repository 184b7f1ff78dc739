// `inject_net`, `inject_list`, `inject_clear`: network faults on this host
// (net/fault_host.h makes the changes; net/netfault.h has the contract).
// The list and the clear take in the syscall injections running here too
// (syscall_records.h), unless a scope names one network namespace.
//
// inject_net: validate; with plan, say what would run and stop there; else
// register the undo record with the undo watchdog, write it (fsync'd),
// apply, emit {phase: "applied", ...}, wait for the duration, a cancel or
// the record's removal by `inject_clear`, undo, remove the record. If the
// agent dies in between, the watchdog undoes it; if the watchdog dies too,
// the next agent to start does (agent/main.cpp).
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "../handler.h"
#include "../ssh_connection.h"
#include "../syscall_records.h"
#include "sonde/common/clock.h"
#include "sonde/common/io.h"
#include "sonde/common/log.h"
#include "sonde/common/undo.h"
#include "sonde/net/fault_host.h"
#include "sonde/net/netfault.h"

namespace sonde::agent {
namespace {

// How often a running injection looks whether `inject_clear` took it out.
constexpr long kRecordPollMs = 200;
constexpr int kCapNetAdmin = 12;

bool can_admin_net() {
  if (::geteuid() == 0) return true;
  auto s = read_file("/proc/self/status", 16384);
  if (!s) return false;
  auto p = s->find("\nCapEff:");
  if (p == std::string::npos) return false;
  unsigned long long caps = std::strtoull(s->c_str() + p + 8, nullptr, 16);
  return (caps >> kCapNetAdmin) & 1;
}

Error needs_net_admin() {
  return Error{errc::kPermission, "network faults need root (CAP_NET_ADMIN) on the target",
               "rerun with --sudo"};
}

net::FaultRecord make_record(const net::NetFaultArgs& a, const net::FaultPlan& p,
                             const net::NetnsRef& ns) {
  net::FaultRecord rec;
  rec.id = p.id;
  rec.what = net::describe_faults(a);
  rec.scope = net::describe_scope(a);
  rec.netns = ns;
  rec.devices = p.devices;
  rec.tc = !p.tc.empty();
  rec.handle = fmt::format("{:x}:", net::kFaultQdiscMajor);
  rec.class_minor = p.class_minor;
  rec.table = p.table;
  rec.owner_pid = ::getpid();
  rec.owner_start = undo::start_time(::getpid());
  rec.started_ns = realtime_ns();
  rec.ends_ns = rec.started_ns + static_cast<int64_t>(a.duration_ms) * 1'000'000;
  return rec;
}

// Takes the fault out, and the record with it when that worked; the
// registration follows the record.
void finish(const net::FaultRecord& rec, undo::Change& change, net::NetFaultResult& r) {
  auto u = net::undo_fault(rec);
  r.undo = u.actions;
  r.undone = u.ok;
  r.ended_ns = realtime_ns();
  if (!u.ok) {
    change.leave_to_watchdog();
    r.notes.push_back(
        "not all of it could be removed: the watchdog tries again when this agent "
        "exits, and the next agent to start replays " +
        rec.path);
    return;
  }
  if (auto st = net::remove_fault_record(rec); !st) r.notes.push_back(st.error().message);
  change.forget();
}

Result<json> inject_net(RequestContext& ctx) {
  auto args = net::netfault_args_from_json(ctx.args);
  if (!args) return args.error();
  if (auto st = net::validate(*args); !st) return st.error();
  const net::NetFaultArgs& a = *args;
  if (!a.plan && !can_admin_net()) return needs_net_admin();
  auto ns = net::resolve_netns(a.pid, a.netns);
  if (!ns) return ns.error();
  auto devs = net::fault_devices(a, *ns);
  if (!devs) return devs.error();
  auto plan = net::build_fault_plan(a, *devs, net::parse_ssh_connection(ssh_connection()),
                                    net::new_fault_id());
  if (!plan) return plan.error();

  net::NetFaultResult r;
  r.id = plan->id;
  r.host = net::local_hostname();
  r.what = net::describe_faults(a);
  r.scope = net::describe_scope(a);
  r.netns = ns->what;
  r.devices = plan->applied;
  r.table = "inet " + plan->table;
  r.ssh_excluded = plan->ssh_excluded;
  r.plan.push_back("in " + ns->what + ":");
  r.plan.insert(r.plan.end(), plan->lines.begin(), plan->lines.end());
  if (a.plan) {
    r.planned_only = true;
    return net::to_json(r);
  }

  // The watchdog hears of it first and the record is on disk second: an
  // agent killed in between leaves a watchdog that removes the record (or
  // its temp file) and undoes nothing, as nothing was applied.
  net::FaultRecord rec = make_record(a, *plan, *ns);
  rec.path = net::fault_record_path(rec.id);
  auto change = undo::register_change(undo::kNetFault, 0, net::to_json(rec));
  if (!change) return change.error();
  if (auto st = net::write_fault_record(rec); !st) return st.error();
  if (auto st = net::apply_fault(*plan, *ns, rec); !st) {
    Error e = st.error();
    finish(rec, *change, r);
    if (!r.undone) e.message += "; and undoing the part applied: " + r.undo;
    return e;
  }
  r.applied = true;
  r.started_ns = rec.started_ns;
  r.ends_ns = rec.ends_ns;
  spdlog::info("network fault {} applied: {} {} (record {})", r.id, r.what, r.scope, rec.path);
  ctx.emit(net::applied_event(r));

  long end = monotonic_ms() + a.duration_ms;
  r.stopped = "duration";
  for (long left = a.duration_ms; left > 0; left = end - monotonic_ms()) {
    if (!ctx.cancel.sleep_for(std::min(left, kRecordPollMs))) {
      r.stopped = "cancelled";
      break;
    }
    if (!net::fault_record_exists(rec)) {
      r.stopped = "cleared";
      r.notes.push_back("removed by `sonde inject --clear` before its time");
      break;
    }
  }
  finish(rec, *change, r);
  spdlog::info("network fault {} ended ({}): {}", r.id, r.stopped, r.undo);
  return net::to_json(r);
}

// The records in scope; a scope names one network namespace (and leaves
// the syscall injections out: *scoped says so).
Result<std::vector<net::FaultRecord>> scoped_records(const json& args, const char* op,
                                                     std::vector<std::string>& notes,
                                                     bool* scoped) {
  auto scope = net::inject_scope_args_from_json(args, op);
  if (!scope) return scope.error();
  if (auto st = net::validate(*scope); !st) return st.error();
  std::optional<net::NetnsRef> only;
  *scoped = scope->pid > 0 || !scope->netns.empty();
  if (*scoped) {
    auto ns = net::resolve_netns(scope->pid, scope->netns);
    if (!ns) return ns.error();
    only = *ns;
  }
  std::vector<net::FaultRecord> out;
  if (::access(net::kFaultRecordDir, F_OK) == 0 &&
      ::access(net::kFaultRecordDir, R_OK | X_OK) != 0) {
    // Network faults are root's; this user's own syscall injections are
    // still listed (unscoped).
    if (*scoped)
      return Error{errc::kPermission,
                   fmt::format("cannot read the undo records in {}", net::kFaultRecordDir),
                   "they are root's: rerun with --sudo"};
    notes.push_back("network faults are root's and not shown: --sudo shows them");
    return out;
  }
  for (auto& rec : net::read_fault_records(net::kFaultRecordDir, &notes))
    if (!only || (rec.netns.dev == only->dev && rec.netns.ino == only->ino))
      out.push_back(std::move(rec));
  return out;
}

Result<json> inject_list(RequestContext& ctx) {
  net::InjectListResult r;
  bool scoped = false;
  auto recs = scoped_records(ctx.args, "inject_list", r.notes, &scoped);
  if (!recs) return recs.error();
  for (const auto& rec : *recs) r.injections.push_back(net::injection_info(rec));
  if (!scoped)
    for (auto& i : syscall_injections(r.notes)) r.injections.push_back(std::move(i));
  return net::to_json(r);
}

Result<json> inject_clear(RequestContext& ctx) {
  net::InjectClearResult r;
  bool scoped = false;
  auto recs = scoped_records(ctx.args, "inject_clear", r.notes, &scoped);
  if (!recs) return recs.error();
  // Without root only this user's syscall injections can go.
  if (!can_admin_net() && (scoped || !recs->empty())) return needs_net_admin();
  if (!scoped)
    for (auto& i : clear_syscall_injections(r.notes)) r.removed.push_back(std::move(i));
  for (const auto& rec : *recs) {
    auto u = net::undo_fault(rec);
    if (!u.ok) {
      r.notes.push_back(fmt::format("{} not fully removed, its record stays: {}", rec.id, u.log));
      continue;
    }
    if (auto st = net::remove_fault_record(rec); !st) r.notes.push_back(st.error().message);
    net::InjectionInfo i = net::injection_info(rec);
    i.undo = u.actions;
    spdlog::info("network fault {} cleared: {}", rec.id, u.log);
    r.removed.push_back(std::move(i));
  }
  return net::to_json(r);
}

}  // namespace

void register_inject_net(Registry& reg) {
  reg["inject_net"] = inject_net;
  reg["inject_list"] = inject_list;
  reg["inject_clear"] = inject_clear;
}

}  // namespace sonde::agent
