// Applying and undoing a fault plan with tc and nft inside the target's
// network namespace, and the queries (devices, routes, root qdiscs) that
// come before.
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "netns_run.h"
#include "record_lock.h"
#include "sonde/net/fault_host.h"

namespace sonde::net {
namespace {

using fault::run_tool;
using fault::ToolRun;

constexpr int kToolTimeoutMs = 5000;
// An orphaned tool of a killed apply dies with its agent; a live apply
// takes a few tc/nft runs.
constexpr int kLockWaitMs = 2000;

json parse_tool_json(const ToolRun& r) {
  json j = json::parse(r.out, nullptr, false);
  return j.is_discarded() ? json::array() : j;
}

Error tool_failed(const std::string& what, const ToolRun& r) {
  std::string why = r.why();
  if (why.find("Operation not permitted") != std::string::npos)
    return Error{errc::kPermission, what + ": " + why,
                 "network faults need root (CAP_NET_ADMIN) on the target: rerun with --sudo"};
  return Error{errc::kIo, what + ": " + why, {}};
}

struct RootQdisc {
  std::string kind;
  std::string handle = "0:";
  long r2q = -1;  // htb's, where sonde keeps the injection's class minor
};

// The root qdisc of dev; nullopt when dev is gone.
Result<std::optional<RootQdisc>> root_qdisc(const NetnsRef& ns, const std::string& dev) {
  auto r = run_tool(ns, "tc", {"-j", "qdisc", "show", "dev", dev, "root"});
  if (!r) return r.error();
  if (!r->ok()) {
    if (r->err.find("Cannot find device") != std::string::npos) return std::optional<RootQdisc>{};
    return tool_failed("tc qdisc show dev " + dev, *r);
  }
  RootQdisc q;
  for (const auto& j : parse_tool_json(*r)) {
    if (!j.is_object() || !j.value("root", false)) continue;
    q.kind = j.value("kind", std::string());
    q.handle = j.value("handle", std::string());
    const json& o = j.value("options", json::object());
    if (o.is_object() && o.contains("r2q") && o["r2q"].is_number_integer())
      q.r2q = o["r2q"].get<long>();
  }
  return std::optional<RootQdisc>{q};
}

Result<std::vector<std::string>> up_devices(const NetnsRef& ns) {
  auto r = run_tool(ns, "ip", {"-j", "link", "show", "up"});
  if (!r) return r.error();
  if (!r->ok()) return tool_failed("ip link show", *r);
  std::vector<std::string> devs;
  for (const auto& l : parse_tool_json(*r)) {
    if (!l.is_object()) continue;
    bool loopback = false;
    for (const auto& f : l.value("flags", json::array()))
      if (f == "LOOPBACK") loopback = true;
    std::string name = l.value("ifname", std::string());
    if (!loopback && !name.empty()) devs.push_back(name);
  }
  return devs;
}

// A name from the host, for a message: control bytes shown as '?'.
std::string render_safe(std::string s) {
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return s;
}

std::string netem_missing_hint() {
  return "load it (modprobe sch_netem; on Debian it ships with the kernel's modules package); "
         "--rate, --reset and --blackhole work without it";
}

}  // namespace

Result<NetnsRef> resolve_netns(long pid, const std::string& name) {
  NetnsRef ns;
  if (pid > 0) {
    ns.path = fmt::format("/proc/{}/ns/net", pid);
    ns.what = fmt::format("the network namespace of pid {}", pid);
  } else if (!name.empty()) {
    ns.path = "/run/netns/" + name;
    ns.what = "netns " + name;
  } else {
    ns.path = "/proc/self/ns/net";
    ns.what = "the agent's network namespace";
  }
  struct stat st {};
  if (::stat(ns.path.c_str(), &st) != 0) {
    int e = errno;
    if (e == ENOENT)
      return Error::sys(errc::kNotFound, e,
                        pid > 0 ? fmt::format("no process {}", pid)
                                : fmt::format("no network namespace `{}`", name),
                        pid > 0 ? "sonde ps HOST lists the processes" : "ip netns list names them");
    return errno_error("stat " + ns.path, e,
                       e == EACCES ? "another user's process: rerun with --sudo" : "");
  }
  ns.dev = static_cast<uint64_t>(st.st_dev);
  ns.ino = static_cast<uint64_t>(st.st_ino);
  ns.what += fmt::format(" (net:[{}])", ns.ino);
  return ns;
}

Result<std::vector<std::string>> fault_devices(const NetFaultArgs& a, const NetnsRef& ns) {
  std::vector<std::string> devs;
  if (!a.dev.empty()) {
    auto r = run_tool(ns, "ip", {"-j", "link", "show", "dev", a.dev});
    if (!r) return r.error();
    if (!r->ok())
      return Error{errc::kNotFound, fmt::format("no device {} in {}", a.dev, ns.what),
                   "ip link lists them"};
    devs.push_back(a.dev);
  } else if (!a.peer.empty()) {
    auto peer = parse_peer(a.peer);
    if (!peer) return Error{errc::kBadArgs, "--peer is not an address", {}};
    auto r =
        run_tool(ns, "ip", {"-j", peer->family == 4 ? "-4" : "-6", "route", "get", peer->network});
    if (!r) return r.error();
    json routes = r->ok() ? parse_tool_json(*r) : json::array();
    std::string dev;
    if (routes.is_array() && !routes.empty() && routes[0].is_object())
      dev = routes[0].value("dev", std::string());
    if (dev.empty())
      return Error{errc::kNotFound,
                   fmt::format("no route to {} in {}: {}", peer->network, ns.what, r->why()),
                   "give the device with --dev"};
    devs.push_back(dev);
  } else {
    auto up = up_devices(ns);
    if (!up) return up.error();
    devs = std::move(*up);
  }
  if (devs.empty())
    return Error{errc::kNotFound, fmt::format("no device is up in {} but loopback", ns.what),
                 "give the device with --dev"};
  for (const auto& dev : devs)
    if (!valid_device_name(dev))
      return Error{
          errc::kBadArgs,
          fmt::format("device `{}` has a name sonde does not put in a rule", render_safe(dev)),
          "give the other devices with --dev, one run each"};
  if (!has_tc_fault(a)) return devs;
  for (const auto& dev : devs) {
    auto q = root_qdisc(ns, dev);
    if (!q) return q.error();
    if (!*q) return Error{errc::kNotFound, fmt::format("device {} is gone", dev), {}};
    if (auto st = check_root_qdisc(dev, (*q)->kind, (*q)->handle); !st) return st.error();
  }
  return devs;
}

Status apply_fault(const FaultPlan& p, const NetnsRef& ns, const FaultRecord& rec) {
  auto lock = fault::RecordLock::acquire(rec.path, kLockWaitMs);
  if (!lock.held())
    return Error{errc::kIo, "cannot lock the undo record " + rec.path, "run the command again"};
  for (const auto& argv : p.tc) {
    auto r = run_tool(ns, "tc", argv, {}, kToolTimeoutMs, lock.fd());
    if (!r) return r.error();
    if (r->ok()) continue;
    std::string cmd = "tc";
    for (const auto& w : argv) cmd += " " + w;
    if (r->err.find("Specified qdisc kind is unknown") != std::string::npos &&
        std::find(argv.begin(), argv.end(), "netem") != argv.end())
      return Error{errc::kNotFound,
                   "this kernel has no netem qdisc (sch_netem): delay, jitter, loss, duplicate "
                   "and reorder need it",
                   netem_missing_hint()};
    if (r->err.find("Exclusivity flag on") != std::string::npos ||
        r->err.find("File exists") != std::string::npos)
      return Error{errc::kBusy, cmd + ": someone set up a qdisc there meanwhile: " + r->why(),
                   "sonde leaves it alone; see tc qdisc show"};
    return tool_failed(cmd, *r);
  }
  if (!p.nft.empty()) {
    auto r = run_tool(ns, "nft", {"-f", "-"}, p.nft, kToolTimeoutMs, lock.fd());
    if (!r) return r.error();
    if (!r->ok()) return tool_failed("nft (table inet " + p.table + ")", *r);
  }
  return ok_status();
}

UndoOutcome undo_fault(const FaultRecord& rec) {
  UndoOutcome o;
  std::vector<std::string> done;
  // Held until the end: an apply (or its orphaned tool) finishes first.
  auto lock = fault::RecordLock::acquire(rec.path, kLockWaitMs);
  auto path = fault::find_netns(rec.netns);
  if (!path) {
    o.actions = "the network namespace is gone, and the fault with it";
    o.log = fmt::format("{} ({}) in {}: {}", rec.what, rec.id, rec.netns.what, o.actions);
    return o;
  }
  NetnsRef ns = rec.netns;
  ns.path = *path;
  if (!rec.table.empty()) {
    // Adding first makes the delete succeed whether or not the table is
    // still there, in one transaction; the name is ours alone.
    auto r = run_tool(ns, "nft", {"-f", "-"},
                      fmt::format("add table inet {0}\ndelete table inet {0}\n", rec.table));
    if (r && r->ok()) {
      done.push_back("nft table inet " + rec.table + " removed");
    } else {
      o.ok = false;
      done.push_back(
          fmt::format("nft table inet {}: {}", rec.table, r ? r->why() : r.error().message));
    }
  }
  const std::string& handle = rec.handle;
  for (const auto& dev : rec.tc ? rec.devices : std::vector<std::string>{}) {
    auto q = root_qdisc(ns, dev);
    if (!q) {
      o.ok = false;
      done.push_back(dev + ": " + q.error().message);
      continue;
    }
    if (!*q) {
      done.push_back(dev + " gone");
      continue;
    }
    if ((*q)->handle != handle) {
      done.push_back(dev + ": no sonde qdisc left");
      continue;
    }
    // Our handle, but is it this injection's? Its r2q says so.
    if ((*q)->r2q != static_cast<long>(rec.class_minor)) {
      done.push_back(dev + ": the sonde qdisc there is another injection's, left alone");
      continue;
    }
    auto d = run_tool(ns, "tc", {"qdisc", "del", "dev", dev, "root", "handle", handle});
    if (d && d->ok()) {
      done.push_back(dev + ": qdisc removed");
    } else {
      o.ok = false;
      done.push_back(fmt::format("{}: tc qdisc del: {}", dev, d ? d->why() : d.error().message));
    }
  }
  for (const auto& s : done) o.actions += (o.actions.empty() ? "" : "; ") + s;
  if (o.actions.empty()) o.actions = "nothing to remove";
  o.log = fmt::format("{} ({}) in {}: {}", rec.what, rec.id, rec.netns.what, o.actions);
  return o;
}

}  // namespace sonde::net
