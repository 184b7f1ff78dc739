// Network faults without touching the host: the contract (args, results,
// validate's errors and hints), tc rates and peers, the plan's nft script
// and tc commands, the root qdisc rule, and undo records in a scratch
// directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "sonde/net/fault_host.h"
#include "sonde/net/netfault.h"
#include "support/contains.h"

namespace sonde::net {
namespace {

using sonde::testing::contains;

NetFaultArgs delay_args() {
  NetFaultArgs a;
  a.delay_ms = 200;
  a.jitter_ms = 20;
  a.peer = "198.18.0.3";
  return a;
}

// The error's message and hint, for one look.
std::string refused(const NetFaultArgs& a) {
  auto st = validate(a);
  if (st) return "";
  EXPECT_EQ(st.error().code, errc::kBadArgs);
  EXPECT_FALSE(st.error().hint.empty()) << st.error().message;
  return st.error().message + " | " + st.error().hint;
}

TEST(NetFaultArgs, RoundTripKeepsEveryField) {
  NetFaultArgs a = delay_args();
  a.loss_pct = 5.5;
  a.rate = "1mbit";
  a.duplicate_pct = 1;
  a.reorder_pct = 25;
  a.netns = "blue";
  a.port = 8080;
  a.dev = "eth0";
  a.duration_ms = 700000;
  a.force = true;
  a.plan = true;
  auto b = netfault_args_from_json(to_json(a));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(to_json(*b), to_json(a));
  EXPECT_TRUE(validate(*b).ok()) << refused(*b);
}

TEST(NetFaultArgs, WrongTypesNameTheField) {
  auto r = netfault_args_from_json(json{{"delay_ms", "100ms"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kBadArgs);
  EXPECT_TRUE(contains(r.error().message, "delay_ms")) << r.error().message;
  EXPECT_FALSE(netfault_args_from_json(json{{"reset", 1}}).ok());
  EXPECT_FALSE(netfault_args_from_json(json::array()).ok());
  // Missing fields keep their defaults: 30 s.
  auto d = netfault_args_from_json(json{{"reset", true}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->duration_ms, 30000);
}

TEST(NetFaultArgs, ValidateSaysWhatIsWrongInFlagTerms) {
  NetFaultArgs none;
  EXPECT_TRUE(contains(refused(none), "no network fault given"));
  NetFaultArgs j;
  j.jitter_ms = 10;
  EXPECT_TRUE(contains(refused(j), "--jitter needs --delay"));
  NetFaultArgs big = delay_args();
  big.jitter_ms = 300;
  EXPECT_TRUE(contains(refused(big), "--jitter must be at most --delay"));
  NetFaultArgs loss;
  loss.loss_pct = 101;
  EXPECT_TRUE(contains(refused(loss), "percentages"));
  NetFaultArgs reorder;
  reorder.reorder_pct = 25;
  EXPECT_TRUE(contains(refused(reorder), "--reorder needs --delay"));
  NetFaultArgs rate;
  rate.rate = "fast";
  EXPECT_TRUE(contains(refused(rate), "--rate `fast`"));
  NetFaultArgs both;
  both.reset = both.blackhole = true;
  EXPECT_TRUE(contains(refused(both), "conflict"));
  NetFaultArgs mixed = delay_args();
  mixed.reset = true;
  EXPECT_TRUE(contains(refused(mixed), "--reset stops the traffic"));
  NetFaultArgs ns = delay_args();
  ns.pid = 42;
  ns.netns = "blue";
  EXPECT_TRUE(contains(refused(ns), "-p and --netns"));
  NetFaultArgs badns = delay_args();
  badns.netns = "../etc";
  EXPECT_TRUE(contains(refused(badns), "not a namespace name"));
  NetFaultArgs peer = delay_args();
  peer.peer = "example.com";
  EXPECT_TRUE(contains(refused(peer), "--peer `example.com`"));
  NetFaultArgs port = delay_args();
  port.port = 70000;
  EXPECT_TRUE(contains(refused(port), "--port 70000"));
  NetFaultArgs dev = delay_args();
  dev.dev = "eth0\" accept";
  EXPECT_TRUE(contains(refused(dev), "not a device name"));
  EXPECT_TRUE(valid_device_name("eth0"));
  EXPECT_TRUE(valid_device_name("veth-1.100"));
  EXPECT_FALSE(valid_device_name("eth0\""));
  EXPECT_FALSE(valid_device_name("br 0"));
  NetFaultArgs dev_long = delay_args();
  dev_long.dev = "a-very-long-device-name";
  EXPECT_FALSE(validate(dev_long).ok());
}

TEST(NetFaultArgs, DurationIsBoundedUnlessForced) {
  NetFaultArgs a = delay_args();
  a.duration_ms = 0;
  EXPECT_TRUE(contains(refused(a), "--duration"));
  a.duration_ms = kMaxFaultDurationMs;
  EXPECT_TRUE(validate(a).ok());
  a.duration_ms = kMaxFaultDurationMs + 1;
  EXPECT_TRUE(contains(refused(a), "needs --force"));
  a.force = true;
  EXPECT_TRUE(validate(a).ok());
  a.duration_ms = kMaxForcedFaultDurationMs + 1;
  EXPECT_TRUE(contains(refused(a), "7 days"));
}

TEST(NetFaultArgs, RatesAreTcUnits) {
  EXPECT_EQ(parse_rate_bits("1mbit"), 1000000u);
  EXPECT_EQ(parse_rate_bits("500kbit"), 500000u);
  EXPECT_EQ(parse_rate_bits("1.5Mbit"), 1500000u);
  EXPECT_EQ(parse_rate_bits("2mbps"), 16000000u);
  EXPECT_EQ(parse_rate_bits("1kibit"), 1024u);
  EXPECT_EQ(parse_rate_bits("10gbit"), 10000000000u);
  for (const char* bad : {"", "mbit", "1", "1 mbit", "1mbits", "0x10mbit", "1e3kbit", "inf",
                          "-1mbit", "1..2mbit", "999bit", "1tbit"})
    EXPECT_FALSE(parse_rate_bits(bad)) << bad;
}

TEST(NetFaultArgs, PeersAreAddressesOrNetworks) {
  auto h = parse_peer("198.18.0.3");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->family, 4);
  EXPECT_EQ(h->text(), "198.18.0.3");
  auto n = parse_peer("10.1.2.3/16");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->text(), "10.1.0.0/16");
  auto v6 = parse_peer("2001:db8::1/64");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, 6);
  EXPECT_EQ(v6->text(), "2001:db8::/64");
  EXPECT_EQ(parse_peer("::1")->text(), "::1");
  for (const char* bad :
       {"", "host", "10.0.0.1/33", "10.0.0.1/", "::1/129", "10.0.0.1/1x", "[::1]", "10.0.0.256"})
    EXPECT_FALSE(parse_peer(bad)) << bad;
}

TEST(NetFaultArgs, DescribedInWords) {
  NetFaultArgs a = delay_args();
  a.loss_pct = 0.5;
  a.port = 80;
  a.netns = "blue";
  EXPECT_EQ(describe_faults(a), "delay 200ms ± 20ms, loss 0.5%");
  EXPECT_EQ(describe_scope(a), "to/from 198.18.0.3 port 80 in netns blue");
  NetFaultArgs b;
  b.blackhole = true;
  b.dev = "eth1";
  b.pid = 7;
  EXPECT_EQ(describe_faults(b), "blackhole");
  EXPECT_EQ(describe_scope(b), "all traffic on eth1 in the network namespace of pid 7");
}

TEST(NetFaultResult, RoundTripAndTheAppliedEvent) {
  NetFaultResult r;
  r.id = "0a1b2c3d";
  r.host = "web1";
  r.what = "delay 200ms";
  r.devices = {{"eth0", "htb 5d0e: class 5d0e:2c3d, netem 5d0f: delay 200ms"}};
  r.table = "inet sonde_fault_0a1b2c3d";
  r.started_ns = 1;
  r.ends_ns = 2;
  r.plan = {"tc qdisc add dev eth0 root handle 5d0e: htb default 0"};
  r.applied = r.undone = true;
  r.stopped = "duration";
  auto back = netfault_result_from_json(to_json(r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(to_json(*back), to_json(r));
  auto ev = netfault_event_from_json(applied_event(r));
  ASSERT_TRUE(ev.ok()) << ev.error().message;
  EXPECT_EQ(ev->devices[0].qdisc, r.devices[0].qdisc);
  json other = applied_event(r);
  other["phase"] = "started";
  auto bad = netfault_event_from_json(other);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, errc::kProtocol);
  json no_id = to_json(r);
  no_id.erase("id");
  EXPECT_FALSE(netfault_result_from_json(no_id).ok());
}

TEST(NetFaultResult, ListAndClearRoundTrip) {
  InjectionInfo i;
  i.id = "0a1b2c3d";
  i.what = "reset";
  i.devices = {"eth0"};
  i.owner_pid = 99;
  i.owner_alive = true;
  InjectListResult l{{i}, {"a note"}};
  auto lb = inject_list_result_from_json(to_json(l));
  ASSERT_TRUE(lb.ok()) << lb.error().message;
  EXPECT_EQ(to_json(*lb), to_json(l));
  i.undo = "nft table removed";
  InjectClearResult c{{i}, {}};
  auto cb = inject_clear_result_from_json(to_json(c));
  ASSERT_TRUE(cb.ok()) << cb.error().message;
  EXPECT_EQ(cb->removed[0].undo, "nft table removed");
  auto s = inject_scope_args_from_json(json{{"netns", "blue"}}, "inject_list");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(validate(*s).ok());
  EXPECT_FALSE(inject_scope_args_from_json(json{{"pid", "1"}}, "inject_clear").ok());
  EXPECT_FALSE(validate(InjectScopeArgs{3, "blue"}).ok());
}

// ---- the plan ------------------------------------------------------------

TEST(FaultPlan, ResetOnAPortRejectsBothWaysAfterTheSshConnection) {
  NetFaultArgs a;
  a.reset = true;
  a.peer = "198.18.0.3";
  a.port = 81;
  SshConnection ssh{"10.9.9.9", 50000, "10.0.0.2", 22};
  auto p = build_fault_plan(a, {"eth0"}, ssh, "0000abcd");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->table, "sonde_fault_0000abcd");
  EXPECT_TRUE(p->tc.empty());
  const std::string& nft = p->nft;
  EXPECT_EQ(nft.rfind("create table inet sonde_fault_0000abcd\n", 0), 0u) << nft;
  std::string ssh_out =
      "add rule inet sonde_fault_0000abcd output ip saddr 10.0.0.2 ip daddr 10.9.9.9 tcp sport "
      "22 tcp dport 50000 accept";
  std::string reset_out =
      "add rule inet sonde_fault_0000abcd output oifname { \"eth0\" } ip daddr 198.18.0.3 meta "
      "l4proto tcp th dport 81 reject with tcp reset";
  std::string udp_in =
      "add rule inet sonde_fault_0000abcd input iifname { \"eth0\" } ip saddr 198.18.0.3 meta "
      "l4proto udp th sport 81 reject with icmpx type port-unreachable";
  ASSERT_TRUE(contains(nft, ssh_out)) << nft;
  ASSERT_TRUE(contains(nft, reset_out)) << nft;
  EXPECT_TRUE(contains(nft, udp_in)) << nft;
  EXPECT_TRUE(contains(nft,
                       "input ip saddr 10.9.9.9 ip daddr 10.0.0.2 tcp sport 50000 tcp "
                       "dport 22 accept"))
      << nft;
  EXPECT_LT(nft.find(ssh_out), nft.find(reset_out)) << "the SSH connection must be accepted first";
  EXPECT_EQ(p->ssh_excluded, "10.9.9.9:50000 <-> 10.0.0.2:22");
  EXPECT_TRUE(contains(p->lines.back(), "nft delete table inet sonde_fault_0000abcd"));
  ASSERT_EQ(p->applied.size(), 1u);
  EXPECT_EQ(p->applied[0].qdisc, "");
}

TEST(FaultPlan, BlackholeOfEverythingDropsOnEachDevice) {
  NetFaultArgs a;
  a.blackhole = true;
  auto p = build_fault_plan(a, {"eth0", "eth1"}, std::nullopt, "00000001");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(contains(p->nft, "output oifname { \"eth0\", \"eth1\" } drop\n")) << p->nft;
  EXPECT_TRUE(contains(p->nft, "input iifname { \"eth0\", \"eth1\" } drop\n")) << p->nft;
  EXPECT_FALSE(contains(p->nft, " accept\n")) << "no SSH connection, no accept rule";
  EXPECT_FALSE(contains(p->nft, "reject"));
}

TEST(FaultPlan, NetemGoesUnderOurHtbClassAndNftClassifies) {
  NetFaultArgs a = delay_args();
  a.loss_pct = 5;
  a.rate = "1mbit";
  a.peer = "2001:db8::7";
  a.port = 443;
  auto p = build_fault_plan(a, {"eth0"}, std::nullopt, "12345678");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->class_minor, 0x5678u);
  ASSERT_EQ(p->tc.size(), 3u);
  auto line = [&](size_t i) {
    std::string s;
    for (const auto& w : p->tc[i]) s += (s.empty() ? "" : " ") + w;
    return s;
  };
  EXPECT_EQ(line(0), "qdisc add dev eth0 root handle 5d0e: htb default 0 r2q 22136");
  EXPECT_EQ(line(1),
            "class add dev eth0 parent 5d0e: classid 5d0e:5678 htb rate 1000000bit quantum 60000");
  EXPECT_EQ(line(2),
            "qdisc add dev eth0 parent 5d0e:5678 handle 5d0f: netem limit 10000 delay 200ms 20ms");
  // Loss: dropped on the way in by nftables, in millionths.
  EXPECT_TRUE(contains(p->nft,
                       "add chain inet sonde_fault_12345678 loss_in { type filter hook prerouting "
                       "priority -150; policy accept; }"))
      << p->nft;
  EXPECT_TRUE(contains(p->nft,
                       "ip6 saddr 2001:db8::7 meta l4proto { tcp, udp } th sport 443 "
                       "numgen random mod 1000000 < 50000 drop"))
      << p->nft;
  EXPECT_TRUE(contains(p->nft,
                       "postrouting oifname { \"eth0\" } ip6 daddr 2001:db8::7 meta "
                       "l4proto { tcp, udp } th dport 443 meta priority set 5d0e:5678"))
      << p->nft;
  EXPECT_TRUE(contains(p->nft, "th sport 443 meta priority set 5d0e:5678")) << p->nft;
  EXPECT_FALSE(contains(p->nft, " output ")) << "netem alone adds no filter chain";
  EXPECT_TRUE(contains(p->applied[0].qdisc, "netem 5d0f: delay 200ms 20ms")) << p->applied[0].qdisc;
  EXPECT_TRUE(contains(p->lines.back(), "tc qdisc del dev eth0 root handle 5d0e:"));
}

TEST(FaultPlan, RateAloneHasNoNetemAndOpenClassHasABurst) {
  NetFaultArgs a;
  a.rate = "2mbps";
  auto p = build_fault_plan(a, {"eth0"}, std::nullopt, "ffff0000");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->class_minor, 1u) << "minor 0 is the qdisc itself";
  EXPECT_EQ(p->tc.size(), 2u);
  NetFaultArgs d;
  d.delay_ms = 10;
  auto q = build_fault_plan(d, {"eth0"}, std::nullopt, "00000002");
  ASSERT_TRUE(q.ok());
  std::string cls;
  for (const auto& w : q->tc[1]) cls += w + " ";
  EXPECT_TRUE(contains(cls, "rate 100gbit burst 1mb cburst 1mb")) << cls;
  EXPECT_FALSE(build_fault_plan(d, {}, std::nullopt, "00000002").ok());
}

TEST(FaultPlan, OnlyKernelDefaultRootQdiscsAreReplaced) {
  EXPECT_TRUE(check_root_qdisc("eth0", "noqueue", "0:").ok());
  EXPECT_TRUE(check_root_qdisc("eth0", "mq", "0:").ok());
  EXPECT_TRUE(check_root_qdisc("eth0", "fq_codel", "0:").ok());
  auto ours = check_root_qdisc("eth0", "htb", "5d0e:");
  ASSERT_FALSE(ours.ok());
  EXPECT_TRUE(contains(ours.error().message, "another sonde injection")) << ours.error().message;
  EXPECT_TRUE(contains(ours.error().hint, "--list"));
  auto user = check_root_qdisc("eth0", "htb", "1:");
  ASSERT_FALSE(user.ok());
  EXPECT_TRUE(contains(user.error().message, "sonde did not add (htb 1: at the root)"))
      << user.error().message;
}

// ---- undo records --------------------------------------------------------

FaultRecord sample_record() {
  FaultRecord r;
  r.id = new_fault_id();
  r.what = "reset";
  r.scope = "port 81";
  r.netns = {"/proc/self/ns/net", 4, 4026531840u, "the agent's network namespace"};
  r.devices = {"eth0"};
  r.tc = true;
  r.class_minor = fault_class_minor(r.id);
  r.table = fault_table_name(r.id);
  r.owner_pid = ::getpid();
  r.owner_start = 12345;
  r.started_ns = 10;
  r.ends_ns = 20;
  return r;
}

TEST(FaultRecord, RoundTripAndHostileFieldsRefused) {
  FaultRecord r = sample_record();
  EXPECT_EQ(r.id.size(), 8u);
  EXPECT_EQ(r.id.find_first_not_of("0123456789abcdef"), std::string::npos) << r.id;
  auto b = fault_record_from_json(to_json(r));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(to_json(*b), to_json(r));
  json t = to_json(r);
  t["table"] = "filter";  // someone else's table
  EXPECT_FALSE(fault_record_from_json(t).ok());
  json d = to_json(r);
  d["devices"] = {"eth0; flush ruleset"};
  EXPECT_FALSE(fault_record_from_json(d).ok());
  json v = to_json(r);
  v["version"] = 2;
  EXPECT_FALSE(fault_record_from_json(v).ok());
  json i = to_json(r);
  i["id"] = "../../etc";
  EXPECT_FALSE(fault_record_from_json(i).ok());
  json h = to_json(r);
  h["handle"] = "root";
  EXPECT_FALSE(fault_record_from_json(h).ok());
  h.erase("handle");
  EXPECT_FALSE(fault_record_from_json(h).ok());
  // Not our start time: the owner is gone (or the pid reused).
  EXPECT_FALSE(owner_alive(r));
}

class RecordDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sonde-netfault-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    dir_ = top_ + "/run/inject";
    ASSERT_EQ(::mkdir((top_ + "/run").c_str(), 0755), 0);
  }
  void TearDown() override { std::system(("rm -rf " + top_).c_str()); }
  std::string top_, dir_;
};

TEST_F(RecordDir, WrittenReadAndRemoved) {
  FaultRecord r = sample_record();
  ASSERT_TRUE(write_fault_record(r, dir_).ok());
  EXPECT_EQ(r.path, dir_ + "/net-" + r.id + ".json");
  struct stat st {};
  ASSERT_EQ(::lstat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::lstat(r.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(::access((r.path + ".tmp").c_str(), F_OK) == 0) << "no temp file left";
  EXPECT_TRUE(fault_record_exists(r));
  // A broken record is noted and skipped, the good one read.
  std::ofstream(dir_ + "/net-deadbeef.json") << "{not json";
  std::vector<std::string> notes;
  auto recs = read_fault_records(dir_, &notes);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].id, r.id);
  EXPECT_EQ(recs[0].path, r.path);
  EXPECT_EQ(notes.size(), 1u);
  auto info = injection_info(recs[0]);
  EXPECT_EQ(info.table, "inet " + r.table);
  EXPECT_FALSE(info.owner_alive);
  ASSERT_TRUE(remove_fault_record(r).ok());
  EXPECT_FALSE(fault_record_exists(r));
  EXPECT_TRUE(remove_fault_record(r).ok()) << "already gone is fine";
  EXPECT_TRUE(read_fault_records(top_ + "/nowhere").empty());
}

TEST_F(RecordDir, ASymlinkOrSomeoneElsesDirectoryIsRefused) {
  std::string elsewhere = top_ + "/elsewhere";
  ASSERT_EQ(::mkdir(elsewhere.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(elsewhere.c_str(), dir_.c_str()), 0);
  auto st = ensure_record_dir(dir_);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(contains(st.error().message, "not a directory")) << st.error().message;
  FaultRecord r = sample_record();
  EXPECT_FALSE(write_fault_record(r, dir_).ok());
  ASSERT_EQ(::unlink(dir_.c_str()), 0);
  ASSERT_EQ(::mkdir(dir_.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  auto open = ensure_record_dir(dir_);
  ASSERT_FALSE(open.ok());
  EXPECT_TRUE(contains(open.error().message, "not sonde's")) << open.error().message;
  std::vector<std::string> notes;
  EXPECT_TRUE(read_fault_records(dir_, &notes).empty());
  EXPECT_EQ(notes.size(), 1u);
}

}  // namespace
}  // namespace sonde::net
