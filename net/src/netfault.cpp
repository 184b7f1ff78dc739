#include "sonde/net/netfault.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "contract/read.h"
#include "sonde/common/json_read.h"

namespace sonde::net {
namespace {

using contract::bounded_strings;
using contract::read_list;

// Bounds on what an agent sends back: one record per injection, a few
// devices each, a plan of a few dozen lines.
constexpr size_t kMaxFaultDevices = 256;
constexpr size_t kMaxFaultPlanLines = 4096;
constexpr size_t kMaxFaultNotes = 256;
constexpr size_t kMaxInjections = 4096;

constexpr const char* kInjectHint = "sonde help inject";

Error bad_fault(std::string msg, std::string hint = kInjectHint) {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

std::string pct_text(double v) {
  return fmt::format("{:g}%", v);
}

bool valid_percent(double v) {
  return std::isfinite(v) && v >= 0 && v <= 100;
}

// `ip netns` names are file names under /run/netns; printable ASCII here,
// as they go into results as text.
bool valid_netns_name(const std::string& n) {
  if (n.empty() || n.size() > 255 || n == "." || n == "..") return false;
  for (unsigned char c : n)
    if (c == '/' || c < 0x21 || c >= 0x7f) return false;
  return true;
}

struct RateUnit {
  const char* name;
  double bits;
};

// tc(8)'s units: SI and IEC multiples of bits and of bytes per second.
constexpr RateUnit kRateUnits[] = {
    {"bit", 1},
    {"kbit", 1e3},
    {"mbit", 1e6},
    {"gbit", 1e9},
    {"tbit", 1e12},
    {"kibit", 1024.0},
    {"mibit", 1048576.0},
    {"gibit", 1073741824.0},
    {"tibit", 1099511627776.0},
    {"bps", 8},
    {"kbps", 8e3},
    {"mbps", 8e6},
    {"gbps", 8e9},
    {"tbps", 8e12},
    {"kibps", 8 * 1024.0},
    {"mibps", 8 * 1048576.0},
    {"gibps", 8 * 1073741824.0},
    {"tibps", 8 * 1099511627776.0},
};

void read_device(JsonReader& r, const json& o, const JsonPath& at, NetFaultDevice& d) {
  r.string(o, "dev", at, d.dev, Need::kRequired);
  r.string(o, "qdisc", at, d.qdisc);
}

json device_json(const NetFaultDevice& d) {
  return {{"dev", d.dev}, {"qdisc", d.qdisc}};
}

void read_result_fields(JsonReader& r, const json& j, NetFaultResult& t) {
  r.string(j, "id", {}, t.id, Need::kRequired);
  r.string(j, "host", {}, t.host);
  r.string(j, "what", {}, t.what);
  r.string(j, "scope", {}, t.scope);
  r.string(j, "netns", {}, t.netns);
  read_list(r, j, "devices", {}, kMaxFaultDevices, t.devices, read_device);
  r.string(j, "table", {}, t.table);
  r.string(j, "ssh_excluded", {}, t.ssh_excluded);
  r.integer(j, "started_ns", {}, t.started_ns);
  r.integer(j, "ends_ns", {}, t.ends_ns);
  r.integer(j, "ended_ns", {}, t.ended_ns);
  r.boolean(j, "planned_only", {}, t.planned_only);
  bounded_strings(r, j, "plan", {}, t.plan, kMaxFaultPlanLines);
  r.boolean(j, "applied", {}, t.applied);
  r.boolean(j, "undone", {}, t.undone);
  r.string(j, "stopped", {}, t.stopped);
  r.string(j, "undo", {}, t.undo);
  bounded_strings(r, j, "notes", {}, t.notes, kMaxFaultNotes);
}

json injection_json(const InjectionInfo& i) {
  json j = {{"id", i.id},
            {"kind", i.kind},
            {"what", i.what},
            {"scope", i.scope},
            {"netns", i.netns},
            {"devices", i.devices},
            {"table", i.table},
            {"started_ns", i.started_ns},
            {"ends_ns", i.ends_ns},
            {"owner_pid", i.owner_pid},
            {"owner_alive", i.owner_alive},
            {"record", i.record}};
  if (!i.undo.empty()) j["undo"] = i.undo;
  return j;
}

void read_injection(JsonReader& r, const json& o, const JsonPath& at, InjectionInfo& i) {
  r.string(o, "id", at, i.id, Need::kRequired);
  r.string(o, "kind", at, i.kind);
  r.string(o, "what", at, i.what);
  r.string(o, "scope", at, i.scope);
  r.string(o, "netns", at, i.netns);
  bounded_strings(r, o, "devices", at, i.devices, kMaxFaultDevices);
  r.string(o, "table", at, i.table);
  r.integer(o, "started_ns", at, i.started_ns);
  r.integer(o, "ends_ns", at, i.ends_ns);
  r.integer(o, "owner_pid", at, i.owner_pid);
  r.boolean(o, "owner_alive", at, i.owner_alive);
  r.string(o, "record", at, i.record);
  r.string(o, "undo", at, i.undo);
}

json injections_json(const std::vector<InjectionInfo>& v) {
  json a = json::array();
  for (const auto& i : v) a.push_back(injection_json(i));
  return a;
}

}  // namespace

bool valid_device_name(const std::string& d) {
  if (d.empty() || d.size() > 15 || d == "." || d == "..") return false;
  for (unsigned char c : d)
    if (!std::isalnum(c) && c != '_' && c != '-' && c != '.' && c != ':') return false;
  return true;
}

bool has_netem_fault(const NetFaultArgs& a) {
  // Loss is nftables' (fault_plan.cpp): it needs no netem.
  return a.delay_ms > 0 || a.jitter_ms > 0 || a.duplicate_pct > 0 || a.reorder_pct > 0;
}

bool has_tc_fault(const NetFaultArgs& a) {
  return has_netem_fault(a) || !a.rate.empty();
}

bool has_shaping_fault(const NetFaultArgs& a) {
  return has_tc_fault(a) || a.loss_pct > 0;
}

std::optional<uint64_t> parse_rate_bits(std::string_view text) {
  // Plain decimals only: strtod would also take hex, exponents and "inf".
  size_t n = text.find_first_not_of("0123456789.");
  std::string number(text.substr(0, n));
  if (number.empty() || number.size() > 20 || number[0] == '.' ||
      std::count(number.begin(), number.end(), '.') > 1)
    return {};
  double v = std::strtod(number.c_str(), nullptr);
  std::string unit(n == std::string_view::npos ? "" : text.substr(n));
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& u : kRateUnits) {
    if (unit != u.name) continue;
    double bits = v * u.bits;
    if (!std::isfinite(bits) || bits < 1e3 || bits > 1e11) return {};
    return static_cast<uint64_t>(std::llround(bits));
  }
  return {};
}

std::string PeerNet::text() const {
  int full = family == 4 ? 32 : 128;
  return prefix == full ? network : fmt::format("{}/{}", network, prefix);
}

std::optional<PeerNet> parse_peer(std::string_view text) {
  std::string s(text);
  std::string addr = s, len;
  if (auto slash = s.find('/'); slash != std::string::npos) {
    addr = s.substr(0, slash);
    len = s.substr(slash + 1);
  }
  PeerNet p;
  unsigned char buf[16] = {};
  size_t bytes = 0;
  if (::inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    p.family = 4;
    bytes = 4;
  } else if (::inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    p.family = 6;
    bytes = 16;
  } else {
    return {};
  }
  int full = static_cast<int>(bytes * 8);
  p.prefix = full;
  if (!len.empty()) {
    if (len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos) return {};
    p.prefix = std::atoi(len.c_str());
    if (p.prefix > full) return {};
  } else if (s.find('/') != std::string::npos) {
    return {};
  }
  for (int bit = p.prefix; bit < full; ++bit)
    buf[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  char out[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(p.family == 4 ? AF_INET : AF_INET6, buf, out, sizeof out);
  p.network = out;
  return p;
}

std::string describe_faults(const NetFaultArgs& a) {
  std::vector<std::string> parts;
  if (a.delay_ms > 0)
    parts.push_back(a.jitter_ms > 0 ? fmt::format("delay {}ms ± {}ms", a.delay_ms, a.jitter_ms)
                                    : fmt::format("delay {}ms", a.delay_ms));
  if (a.loss_pct > 0) parts.push_back("loss " + pct_text(a.loss_pct));
  if (!a.rate.empty()) parts.push_back("rate " + a.rate);
  if (a.duplicate_pct > 0) parts.push_back("duplicate " + pct_text(a.duplicate_pct));
  if (a.reorder_pct > 0) parts.push_back("reorder " + pct_text(a.reorder_pct));
  if (a.reset) parts.push_back("reset");
  if (a.blackhole) parts.push_back("blackhole");
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : ", ") + p;
  return s.empty() ? "no fault" : s;
}

std::string describe_scope(const NetFaultArgs& a) {
  std::string s;
  if (!a.peer.empty()) {
    auto p = parse_peer(a.peer);
    s = "to/from " + (p ? p->text() : a.peer);
  }
  if (a.port > 0) s += (s.empty() ? "" : " ") + fmt::format("port {}", a.port);
  if (s.empty()) s = "all traffic";
  if (!a.dev.empty()) s += " on " + a.dev;
  if (a.pid > 0) s += fmt::format(" in the network namespace of pid {}", a.pid);
  if (!a.netns.empty()) s += " in netns " + a.netns;
  return s;
}

json to_json(const NetFaultArgs& a) {
  return {{"delay_ms", a.delay_ms},
          {"jitter_ms", a.jitter_ms},
          {"loss_pct", a.loss_pct},
          {"rate", a.rate},
          {"duplicate_pct", a.duplicate_pct},
          {"reorder_pct", a.reorder_pct},
          {"reset", a.reset},
          {"blackhole", a.blackhole},
          {"pid", a.pid},
          {"netns", a.netns},
          {"peer", a.peer},
          {"port", a.port},
          {"dev", a.dev},
          {"duration_ms", a.duration_ms},
          {"force", a.force},
          {"plan", a.plan}};
}

Result<NetFaultArgs> netfault_args_from_json(const json& j) {
  auto r = JsonReader::args("inject_net");
  NetFaultArgs a;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "delay_ms", {}, a.delay_ms);
  r.integer(j, "jitter_ms", {}, a.jitter_ms);
  r.number(j, "loss_pct", {}, a.loss_pct);
  r.string(j, "rate", {}, a.rate);
  r.number(j, "duplicate_pct", {}, a.duplicate_pct);
  r.number(j, "reorder_pct", {}, a.reorder_pct);
  r.boolean(j, "reset", {}, a.reset);
  r.boolean(j, "blackhole", {}, a.blackhole);
  r.integer(j, "pid", {}, a.pid);
  r.string(j, "netns", {}, a.netns);
  r.string(j, "peer", {}, a.peer);
  r.integer(j, "port", {}, a.port);
  r.string(j, "dev", {}, a.dev);
  r.integer(j, "duration_ms", {}, a.duration_ms);
  r.boolean(j, "force", {}, a.force);
  r.boolean(j, "plan", {}, a.plan);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const NetFaultArgs& a) {
  if (!has_shaping_fault(a) && !a.reset && !a.blackhole)
    return bad_fault("no network fault given",
                     "e.g. sonde inject HOST --delay 100ms --peer 10.0.0.5, --loss 5%, --rate "
                     "1mbit, --reset --port 80, --blackhole --peer 10.0.0.5");
  if (a.delay_ms < 0 || a.delay_ms > kMaxFaultDelayMs)
    return bad_fault(fmt::format("--delay must be 0..{}s", kMaxFaultDelayMs / 1000),
                     "e.g. --delay 100ms");
  if (a.jitter_ms < 0 || a.jitter_ms > a.delay_ms)
    return bad_fault(
        a.delay_ms == 0 ? "--jitter needs --delay" : "--jitter must be at most --delay",
        "e.g. --delay 100ms --jitter 10ms (100ms ± 10ms)");
  if (!valid_percent(a.loss_pct) || !valid_percent(a.duplicate_pct) ||
      !valid_percent(a.reorder_pct))
    return bad_fault("--loss, --duplicate and --reorder are percentages from 0 to 100",
                     "e.g. --loss 5% or --loss 0.5");
  if (a.reorder_pct > 0 && a.delay_ms == 0)
    return bad_fault(
        "--reorder needs --delay: netem reorders by sending some packets at once "
        "and delaying the rest",
        "e.g. --delay 50ms --reorder 25%");
  if (!a.rate.empty() && !parse_rate_bits(a.rate))
    return bad_fault(fmt::format("--rate `{}` is not a rate from 1kbit to 100gbit", a.rate),
                     "a number and a tc unit: 1mbit, 500kbit, 2mbps (bytes), 10gbit");
  if (a.reset && a.blackhole)
    return bad_fault("--reset and --blackhole conflict",
                     "--reset answers (refused), --blackhole stays silent (timeout): pick one");
  if ((a.reset || a.blackhole) && has_shaping_fault(a))
    return bad_fault(
        fmt::format("--{} stops the traffic that --delay, --loss, --rate, --duplicate and "
                    "--reorder would shape",
                    a.reset ? "reset" : "blackhole"),
        "give one kind of fault per injection; run two injections for two scopes");
  if (a.pid < 0) return bad_fault(fmt::format("-p {} is not a process id", a.pid));
  if (a.pid > 0 && !a.netns.empty())
    return bad_fault("-p and --netns both pick the network namespace: give one",
                     "-p PID for a process's (a container's) namespace, --netns NAME for one "
                     "from `ip netns list`");
  if (!a.netns.empty() && !valid_netns_name(a.netns))
    return bad_fault(fmt::format("--netns `{}` is not a namespace name", a.netns),
                     "a name from `ip netns list`");
  if (!a.peer.empty() && !parse_peer(a.peer))
    return bad_fault(fmt::format("--peer `{}` is not an IP address or CIDR", a.peer),
                     "e.g. --peer 10.0.0.5, --peer 10.0.0.0/24, --peer 2001:db8::1");
  if (a.port < 0 || a.port > 65535)
    return bad_fault(fmt::format("--port {} is out of range", a.port), "give 1..65535");
  if (!a.dev.empty() && !valid_device_name(a.dev))
    return bad_fault(fmt::format("--dev `{}` is not a device name", a.dev),
                     "a name from `ip link` (eth0, ens3, veth1)");
  long max = a.force ? kMaxForcedFaultDurationMs : kMaxFaultDurationMs;
  if (a.duration_ms <= 0 || a.duration_ms > max)
    return bad_fault(a.duration_ms > kMaxFaultDurationMs && !a.force
                         ? "--duration over 10 minutes needs --force"
                         : fmt::format("--duration must be more than 0 and at most {}",
                                       a.force ? "7 days" : "10 minutes"),
                     "e.g. --duration 30s (the default), 5m; longer: --duration 1h --force");
  return ok_status();
}

json to_json(const NetFaultResult& r) {
  json devices = json::array();
  for (const auto& d : r.devices) devices.push_back(device_json(d));
  return {{"id", r.id},
          {"host", r.host},
          {"what", r.what},
          {"scope", r.scope},
          {"netns", r.netns},
          {"devices", std::move(devices)},
          {"table", r.table},
          {"ssh_excluded", r.ssh_excluded},
          {"started_ns", r.started_ns},
          {"ends_ns", r.ends_ns},
          {"ended_ns", r.ended_ns},
          {"planned_only", r.planned_only},
          {"plan", r.plan},
          {"applied", r.applied},
          {"undone", r.undone},
          {"stopped", r.stopped},
          {"undo", r.undo},
          {"notes", r.notes}};
}

Result<NetFaultResult> netfault_result_from_json(const json& j) {
  auto r = JsonReader::reply("inject_net");
  NetFaultResult t;
  if (!r.object(j, {})) return r.error();
  read_result_fields(r, j, t);
  if (r.failed()) return r.error();
  return t;
}

json applied_event(const NetFaultResult& r) {
  json j = to_json(r);
  j["phase"] = "applied";
  return j;
}

Result<NetFaultResult> netfault_event_from_json(const json& j) {
  auto r = JsonReader::reply("inject_net", "event");
  NetFaultResult t;
  if (!r.object(j, {})) return r.error();
  std::string phase;
  r.string(j, "phase", {}, phase, Need::kRequired);
  if (!r.failed() && phase != "applied")
    r.fail(JsonPath{} / "phase", fmt::format("`{}` is not \"applied\"", phase));
  read_result_fields(r, j, t);
  if (r.failed()) return r.error();
  return t;
}

json to_json(const InjectScopeArgs& a) {
  return {{"pid", a.pid}, {"netns", a.netns}};
}

Result<InjectScopeArgs> inject_scope_args_from_json(const json& j, std::string_view op) {
  auto r = JsonReader::args(op);
  InjectScopeArgs a;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, a.pid);
  r.string(j, "netns", {}, a.netns);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const InjectScopeArgs& a) {
  if (a.pid < 0) return bad_fault(fmt::format("-p {} is not a process id", a.pid));
  if (a.pid > 0 && !a.netns.empty())
    return bad_fault("-p and --netns both pick the network namespace: give one");
  if (!a.netns.empty() && !valid_netns_name(a.netns))
    return bad_fault(fmt::format("--netns `{}` is not a namespace name", a.netns),
                     "a name from `ip netns list`");
  return ok_status();
}

json to_json(const InjectListResult& r) {
  return {{"injections", injections_json(r.injections)}, {"notes", r.notes}};
}

json to_json(const InjectClearResult& r) {
  return {{"removed", injections_json(r.removed)}, {"notes", r.notes}};
}

Result<InjectListResult> inject_list_result_from_json(const json& j) {
  auto r = JsonReader::reply("inject_list");
  InjectListResult t;
  if (!r.object(j, {})) return r.error();
  read_list(r, j, "injections", {}, kMaxInjections, t.injections, read_injection);
  bounded_strings(r, j, "notes", {}, t.notes, kMaxFaultNotes);
  if (r.failed()) return r.error();
  return t;
}

Result<InjectClearResult> inject_clear_result_from_json(const json& j) {
  auto r = JsonReader::reply("inject_clear");
  InjectClearResult t;
  if (!r.object(j, {})) return r.error();
  read_list(r, j, "removed", {}, kMaxInjections, t.removed, read_injection);
  bounded_strings(r, j, "notes", {}, t.notes, kMaxFaultNotes);
  if (r.failed()) return r.error();
  return t;
}

}  // namespace sonde::net
