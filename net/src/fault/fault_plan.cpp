// What an injection runs: the nft script and the tc commands, built from
// the args and the devices without touching the host.
#include <cstdlib>

#include "sonde/net/fault_host.h"

namespace sonde::net {
namespace {

constexpr const char* kNetemHandle = "5d0f:";
// netem's queue holds every delayed packet: its default of 1000 would drop
// at a few Mbit/s with a delay of a second.
constexpr const char* kNetemLimit = "10000";

std::string root_handle() {
  return fmt::format("{:x}:", kFaultQdiscMajor);
}

std::string class_id(uint32_t minor) {
  return fmt::format("{:x}:{:x}", kFaultQdiscMajor, minor);
}

std::string join_words(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words)
    if (!w.empty()) s += (s.empty() ? "" : " ") + w;
  return s;
}

// The matches of one direction: the devices, the peer, then each of the
// port's two positions (the host as client: the peer's port is the
// destination going out; as server: the source).
struct Direction {
  bool out = true;  // output and postrouting (the host sends) vs input
  std::string devices;
  std::string peer;

  std::vector<std::string> port_matches(const std::string& proto, long port) const {
    if (port <= 0) return {proto.empty() ? "" : "meta l4proto " + proto};
    std::string p = proto.empty() ? "{ tcp, udp }" : proto;
    return {fmt::format("meta l4proto {} th dport {}", p, port),
            fmt::format("meta l4proto {} th sport {}", p, port)};
  }
};

Direction direction(bool out, const std::vector<std::string>& devs,
                    const std::optional<PeerNet>& peer) {
  Direction d;
  d.out = out;
  std::string set;
  for (const auto& dev : devs) set += (set.empty() ? "\"" : ", \"") + dev + "\"";
  d.devices = fmt::format("{} {{ {} }}", out ? "oifname" : "iifname", set);
  if (peer)
    d.peer = fmt::format("{} {} {}", peer->family == 4 ? "ip" : "ip6", out ? "daddr" : "saddr",
                         peer->text());
  return d;
}

// The SSH connection the agent runs over, accepted before any rule of ours.
std::string ssh_accept(const SshConnection& c, bool out) {
  const char* fam = c.server_ip.find(':') != std::string::npos ? "ip6" : "ip";
  const std::string& src = out ? c.server_ip : c.client_ip;
  const std::string& dst = out ? c.client_ip : c.server_ip;
  int sport = out ? c.server_port : c.client_port;
  int dport = out ? c.client_port : c.server_port;
  return fmt::format("{0} saddr {1} {0} daddr {2} tcp sport {3} tcp dport {4} accept", fam, src,
                     dst, sport, dport);
}

struct NftScript {
  std::string table;
  std::vector<std::string> lines;

  void chain(const std::string& name, const char* hook, int priority) {
    lines.push_back(
        fmt::format("add chain inet {} {} {{ type filter hook {} priority {}; policy accept; }}",
                    table, name, hook, priority));
  }
  void rule(const std::string& chain, const std::string& text) {
    lines.push_back(fmt::format("add rule inet {} {} {}", table, chain, text));
  }
  // One rule per port position: match words then the action.
  void rules(const std::string& chain, const Direction& d, const std::string& proto, long port,
             const std::string& action) {
    for (const auto& pm : d.port_matches(proto, port))
      rule(chain, join_words({d.devices, d.peer, pm, action}));
  }
};

// reset: TCP gets a reset (ECONNREFUSED at a connect), everything else
// an ICMP port-unreachable; blackhole: dropped.
void stop_rules(NftScript& s, const std::string& chain, const Direction& d, const NetFaultArgs& a) {
  if (a.blackhole) {
    s.rules(chain, d, "", a.port, "drop");
    return;
  }
  s.rules(chain, d, "tcp", a.port, "reject with tcp reset");
  s.rules(chain, d, a.port > 0 ? "udp" : "", a.port, "reject with icmpx type port-unreachable");
}

std::string netem_args_text(const NetFaultArgs& a) {
  std::vector<std::string> w;
  if (a.delay_ms > 0)
    w.push_back(a.jitter_ms > 0 ? fmt::format("delay {}ms {}ms", a.delay_ms, a.jitter_ms)
                                : fmt::format("delay {}ms", a.delay_ms));
  if (a.duplicate_pct > 0) w.push_back(fmt::format("duplicate {:g}%", a.duplicate_pct));
  if (a.reorder_pct > 0) w.push_back(fmt::format("reorder {:g}%", a.reorder_pct));
  return join_words(w);
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

void add_tc(FaultPlan& p, const std::string& dev, const NetFaultArgs& a) {
  std::string cls = class_id(p.class_minor);
  // r2q only sets the quantum of classes that name none (ours does): here
  // it carries the injection's class minor, so that the root qdisc alone
  // says whose it is, even before its class exists.
  p.tc.push_back(split_words(fmt::format("qdisc add dev {} root handle {} htb default 0 r2q {}",
                                         dev, root_handle(), p.class_minor)));
  // Without --rate the class is wide open; htb wants a rate all the same,
  // and a burst it can count at 100gbit.
  std::string rate = a.rate.empty() ? std::string("rate 100gbit burst 1mb cburst 1mb")
                                    : fmt::format("rate {}bit", *parse_rate_bits(a.rate));
  p.tc.push_back(
      split_words(fmt::format("class add dev {} parent {} classid {} htb {} quantum 60000", dev,
                              root_handle(), cls, rate)));
  std::string what = fmt::format("htb {} class {}", root_handle(), cls);
  if (!a.rate.empty()) what += " rate " + a.rate;
  if (has_netem_fault(a)) {
    std::string netem = netem_args_text(a);
    p.tc.push_back(split_words(fmt::format("qdisc add dev {} parent {} handle {} netem limit {} {}",
                                           dev, cls, kNetemHandle, kNetemLimit, netem)));
    what += fmt::format(", netem {} {}", kNetemHandle, netem);
  }
  p.applied.push_back({dev, what});
}

}  // namespace

std::string fault_table_name(const std::string& id) {
  return "sonde_fault_" + id;
}

uint32_t fault_class_minor(const std::string& id) {
  auto v = static_cast<uint32_t>(std::strtoul(id.c_str(), nullptr, 16) & 0xffff);
  return v == 0 || v == 0xffff ? 1 : v;
}

Status check_root_qdisc(const std::string& dev, const std::string& kind,
                        const std::string& handle) {
  if (handle == root_handle())
    return Error{errc::kBusy,
                 fmt::format("another sonde injection already shapes {} (its root qdisc is "
                             "sonde's {} {})",
                             dev, kind, handle),
                 "sonde inject HOST --list shows it, --clear removes it; or wait for it to end"};
  if (handle != "0:")
    return Error{errc::kBusy,
                 fmt::format("{} has a qdisc that sonde did not add ({} {} at the root): sonde "
                             "leaves it alone",
                             dev, kind, handle),
                 fmt::format("if it may go, remove it yourself (tc qdisc del dev {} root); or "
                             "pick another --dev, or use --reset/--blackhole (nftables only)",
                             dev)};
  return ok_status();
}

Result<FaultPlan> build_fault_plan(const NetFaultArgs& a, const std::vector<std::string>& devices,
                                   const std::optional<SshConnection>& ssh, const std::string& id) {
  if (auto st = validate(a); !st) return st.error();
  if (devices.empty())
    return Error{errc::kNotFound, "no device to put the fault on",
                 "no up device besides loopback: give --dev DEV"};
  FaultPlan p;
  p.id = id;
  p.devices = devices;
  p.class_minor = fault_class_minor(id);
  p.table = fault_table_name(id);
  std::optional<PeerNet> peer;
  if (!a.peer.empty()) peer = parse_peer(a.peer);
  if (ssh)
    p.ssh_excluded = host_port(ssh->client_ip, ssh->client_port) + " <-> " +
                     host_port(ssh->server_ip, ssh->server_port);

  NftScript s{p.table, {fmt::format("create table inet {}", p.table)}};
  Direction out = direction(true, devices, peer), in = direction(false, devices, peer);
  if (a.reset || a.blackhole) {
    for (const auto& [chain, d] : {std::pair{"output", out}, std::pair{"input", in}}) {
      s.chain(chain, chain, 0);
      if (ssh) s.rule(chain, ssh_accept(*ssh, d.out));
      stop_rules(s, chain, d, a);
    }
  }
  if (a.loss_pct > 0) {
    // Lost on the way in: nftables' own random numbers, in millionths. A
    // drop on the way out would fail the host's send (EPERM), which no
    // lost packet does.
    s.chain("loss_in", "prerouting", -150);
    if (ssh) s.rule("loss_in", ssh_accept(*ssh, false));
    auto millionths = static_cast<long>(a.loss_pct * 10000 + 0.5);
    s.rules("loss_in", in, "", a.port,
            fmt::format("numgen random mod 1000000 < {} drop", millionths));
  }
  if (has_tc_fault(a)) {
    // Late, so that ours is the priority the packet leaves with.
    s.chain("postrouting", "postrouting", 300);
    if (ssh) s.rule("postrouting", ssh_accept(*ssh, true));
    s.rules("postrouting", out, "", a.port,
            fmt::format("meta priority set {}", class_id(p.class_minor)));
    for (const auto& dev : devices) add_tc(p, dev, a);
  } else {
    for (const auto& dev : devices) p.applied.push_back({dev, ""});
  }
  for (const auto& l : s.lines) p.nft += l + "\n";

  for (const auto& argv : p.tc) p.lines.push_back("tc " + join_words(argv));
  for (const auto& l : s.lines) p.lines.push_back("nft " + l);
  p.lines.push_back("then, to undo it: nft delete table inet " + p.table);
  if (!p.tc.empty())
    for (const auto& dev : devices)
      p.lines.push_back(
          fmt::format("then, to undo it: tc qdisc del dev {} root handle {}", dev, root_handle()));
  return p;
}

}  // namespace sonde::net
