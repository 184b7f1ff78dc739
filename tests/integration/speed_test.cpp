// `sonde speed` end to end: the real sonde binary against a local agent, an
// agent behind a real OpenSSH sshd on 127.0.0.1 (tests/fixtures/sshd.sh) with
// both paths measured both ways, and an agent in a network namespace
// (support/netlab.h) whose direct path a firewall drops or rejects: the
// direct path is reported failed with the reason, exit 1, no hang. Asserts on
// content (byte counts agree across both ends, paths and reasons); never on
// how fast.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <sstream>
#include <string>

#include "agent_client.h"
#include "sonde/common/fd.h"
#include "sonde/common/frame.h"
#include "sonde/common/protocol.h"
#include "sonde/net/speed.h"
#include "sonde/net/speed_contract.h"
#include "support/contains.h"
#include "support/netlab.h"
#include "support/sshd_fixture.h"

namespace sonde::testing {
namespace {

json parse(const std::string& s) {
  return json::parse(s, nullptr, false);
}

// The test's own SSH_CONNECTION (tests may run inside an ssh login) must not
// tell the agent where to listen.
const std::map<std::string, std::string> kNoSsh = {{"SSH_CONNECTION", ""}};

const json* find_path(const json& j, const std::string& path, const std::string& dir = "") {
  for (const auto& p : j["paths"])
    if (p.value("path", "") == path && (dir.empty() || p.value("direction", "") == dir)) return &p;
  return nullptr;
}

// A measured path: the receiver's count equals what the sender sent (the
// trailer brings it back), both ends name the same amount, RTTs were timed.
void expect_measured(const json& p, const std::string& dir, long rtt_count) {
  ASSERT_EQ(p.value("status", ""), "ok") << p.dump(2);
  EXPECT_EQ(p.value("direction", ""), dir);
  EXPECT_GT(p.value("bytes", 0ULL), 0ULL);
  EXPECT_GT(p.value("gbps", 0.0), 0.0);
  const json& ctl = p["controller"];
  const json& agent = p["agent"];
  const json& sender = dir == "upload" ? ctl : agent;
  const json& receiver = dir == "upload" ? agent : ctl;
  EXPECT_EQ(sender.value("role", ""), "sender");
  EXPECT_EQ(receiver.value("role", ""), "receiver");
  EXPECT_EQ(sender.value("bytes", 0ULL), receiver.value("bytes", 1ULL)) << p.dump(2);
  EXPECT_EQ(sender.value("peer_bytes", 0ULL), receiver.value("bytes", 1ULL));
  EXPECT_EQ(p.value("bytes", 0ULL), receiver.value("bytes", 1ULL));
  uint64_t sum = 0;
  for (const auto& iv : receiver["intervals"]) sum += iv.value("bytes", 0ULL);
  EXPECT_EQ(sum, receiver.value("bytes", 1ULL)) << "intervals add up to the total";
  EXPECT_EQ(p["rtt"].value("count", 0L), rtt_count);
  EXPECT_LE(p["rtt"].value("min_us", 1.0), p["rtt"].value("median_us", 0.0));
  EXPECT_LE(p["rtt"].value("median_us", 1.0), p["rtt"].value("p90_us", 0.0));
  EXPECT_LE(p["rtt"].value("p90_us", 1.0), p["rtt"].value("max_us", 0.0));
  ASSERT_TRUE(p.contains("tcp_info")) << p.dump(2);
  if (p["tcp_info"].is_object()) {
    EXPECT_GT(p["tcp_info"].value("snd_mss", 0u), 0u);
  }
}

TEST(SpeedLocal, DirectMeasuredSshNotApplicable) {
  auto r = run_sonde({"speed", "local", "--duration", "1s", "--rtt-count", "20", "--json"}, kNoSsh,
                     30000);
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  json j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  const json* d = find_path(j, "direct", "upload");
  ASSERT_NE(d, nullptr) << r.out;
  expect_measured(*d, "upload", 20);
  EXPECT_TRUE(contains(d->value("address", ""), "127.0.0.1:")) << d->dump();
  const json* s = find_path(j, "ssh");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->value("status", ""), "n/a");
  EXPECT_EQ(s->value("reason", ""), "local target");
  EXPECT_TRUE(j.value("ok", false));
  EXPECT_EQ(j.value("duration_ms", 0L), 1000);
  std::string summary = j.value("summary", "");
  EXPECT_TRUE(contains(summary, "direct upload")) << summary;
  EXPECT_TRUE(contains(summary, "ssh n/a (local target)")) << summary;
  EXPECT_EQ(summary.find('\n'), std::string::npos) << "one line";
}

TEST(SpeedLocal, ReverseAndTextOutput) {
  auto r = run_sonde({"speed", "local", "--duration", "500ms", "--reverse", "--intervals"}, kNoSsh,
                     30000);
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  EXPECT_TRUE(contains(r.out, "direct  download")) << r.out;
  EXPECT_TRUE(contains(r.out, "n/a (local target)")) << r.out;
  EXPECT_TRUE(contains(r.out, "[direct download]")) << "interval lines:\n" << r.out;
  EXPECT_TRUE(contains(r.out, "summary: direct download")) << r.out;
}

// The rate as the progress line prints it.
std::string rate_text(double gbps) {
  return gbps >= 1 ? fmt::format("{:.2f} Gbit/s", gbps) : fmt::format("{:.1f} Mbit/s", gbps * 1e3);
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A test of a few seconds says on stderr where it is (stderr is a pipe here:
// plain lines, nothing redrawn), and ends with its rate; stdout stays the
// one JSON document, with none of it.
TEST(SpeedLocal, ProgressOnStderrStdoutStaysOneJsonDocument) {
  auto r = run_sonde({"speed", "local", "--duration", "3s", "--rtt-count", "20", "--json"}, kNoSsh,
                     30000);
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  json j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << "stdout is one JSON document:\n" << r.out;
  EXPECT_FALSE(contains(r.out, "sonde: ")) << r.out;
  const json* d = find_path(j, "direct", "upload");
  ASSERT_NE(d, nullptr) << r.out;
  ASSERT_EQ(d->value("status", ""), "ok") << d->dump();

  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "no line redrawn in place:\n" << r.err;
  EXPECT_EQ(r.err.find('\033'), std::string::npos) << "no terminal codes:\n" << r.err;
  auto lines = lines_of(r.err);
  for (const auto& l : lines) EXPECT_EQ(l.rfind("sonde: ", 0), 0u) << l;
  ASSERT_GE(lines.size(), 3u) << r.err;
  EXPECT_EQ(lines[0], "sonde: direct upload: connecting to " + d->value("address", "")) << r.err;
  EXPECT_TRUE(contains(r.err, "sonde: direct upload: sending for 3 s\n")) << r.err;
  // The last line is the test's figures, as the result has them.
  EXPECT_EQ(
      lines.back(),
      fmt::format("sonde: direct upload: {}, {} in {:.1f} s", rate_text(d->value("gbps", 0.0)),
                  human_bytes(d->value("bytes", 0ULL)), d->value("seconds", 0.0)))
      << r.err;
}

// --intervals prints each second on stdout already: stderr only says where
// each test connects and how it ended.
TEST(SpeedLocal, WithIntervalsStderrHasOnlyEachTestsEnds) {
  auto r = run_sonde({"speed", "local", "--duration", "1500ms", "--intervals"}, kNoSsh, 30000);
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  EXPECT_TRUE(contains(r.out, "[direct upload]")) << r.out;
  EXPECT_FALSE(contains(r.out, "sonde: ")) << r.out;
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_TRUE(contains(lines[0], "sonde: direct upload: connecting to 127.0.0.1:")) << r.err;
  EXPECT_TRUE(contains(lines[1], "sonde: direct upload: ") && contains(lines[1], "bit/s")) << r.err;
}

// The agent's end says where it is as the test runs: progress events after
// the listening one (its round trips, then its bulk phase with the count so
// far), before the result, the count never past the result's.
TEST(SpeedAgent, ProgressEventsWhileTheTestRuns) {
  AgentClient a;
  ASSERT_TRUE(a.started());
  ASSERT_TRUE(a.recv().has_value()) << "hello";
  net::SpeedArgs args;
  args.direction = net::SpeedDirection::kUpload;
  args.duration_ms = 1500;
  args.rtt_count = 10;
  args.accept_timeout_ms = 10000;
  args.bind = "127.0.0.1";
  ASSERT_TRUE(a.send(make_request(1, "net.speed", net::to_json(args))));
  auto first = a.recv(10000);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ((*first)["kind"], "event") << first->dump();
  auto listening = net::speed_listening_from_json((*first)["data"]);
  ASSERT_TRUE(listening) << listening.error().message;

  ScopedFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(listening->port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  net::SpeedHeader h;
  h.token = listening->token;
  h.direction = args.direction;
  h.duration_ms = static_cast<uint32_t>(args.duration_ms);
  h.rtt_count = static_cast<uint32_t>(args.rtt_count);
  auto run = net::speed_client(c.get(), h, net::SpeedOptions{});
  ASSERT_TRUE(run.ok()) << run.error().message;

  std::vector<json> events;
  auto fin = a.recv_final(1, 10000, &events);
  ASSERT_TRUE(fin.has_value());
  ASSERT_EQ((*fin)["kind"], "result") << fin->dump();
  auto result = net::speed_result_from_json((*fin)["data"]);
  ASSERT_TRUE(result) << result.error().message;
  std::vector<net::SpeedProgress> progress;
  for (const auto& e : events) {
    ASSERT_EQ(net::speed_event_kind(e["data"]), "progress") << e.dump();
    auto p = net::speed_progress_from_json(e["data"]);
    ASSERT_TRUE(p) << p.error().message;
    progress.push_back(*p);
  }
  ASSERT_GE(progress.size(), 3u);
  EXPECT_EQ(progress.front().phase, net::SpeedPhase::kRoundTrips);
  EXPECT_FALSE(progress.front().sender) << "uploading, the agent receives";
  bool bulk_seen = false;
  uint64_t last = 0;
  for (const auto& p : progress) {
    if (p.phase != net::SpeedPhase::kBulk) continue;
    bulk_seen = true;
    EXPECT_GE(p.bytes, last);
    last = p.bytes;
  }
  EXPECT_TRUE(bulk_seen);
  EXPECT_GT(last, 0u);
  EXPECT_LE(last, result->bulk.bytes);
  EXPECT_EQ(result->bulk.bytes, run->bulk.bytes);
}

TEST(SpeedLocal, BadArguments) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"speed", "local", "--duration", "0"},
                                             {"speed", "local", "--duration", "10m"},
                                             {"speed", "local", "--reverse", "--both"},
                                             {"speed", "local", "--rtt-count", "-1"},
                                             {"speed", "local", "--timeout", "soon"}}) {
    auto r = run_sonde(args, kNoSsh, 15000);
    EXPECT_EQ(r.exit_code, 2) << args[2] << ": " << describe(r);
    EXPECT_TRUE(contains(r.err, "sonde speed: error:")) << r.err;
  }
}

// With --via and no --address nothing says which host the agent is on.
TEST(SpeedLocal, ViaWithoutAddressSaysWhatIsMissing) {
  std::string via = std::string(SONDE_BIN_DIR) + "/sonde-agent serve";
  auto r = run_sonde({"speed", "--via", via, "--duration", "500ms", "--json"}, kNoSsh, 30000);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  json j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  const json* d = find_path(j, "direct");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->value("status", ""), "failed");
  EXPECT_TRUE(contains(d->value("hint", ""), "--address")) << d->dump();
  const json* s = find_path(j, "ssh");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->value("status", ""), "n/a");
  // Knowing no address of its own, the agent listened on loopback only,
  // never on every interface.
  EXPECT_EQ(d->value("agent_listen", "").rfind("127.0.0.1:", 0), 0u) << d->dump();
}

// No SSH_CONNECTION (as under --sudo or --via): the agent listens on the
// address the controller says it will connect to, and on nothing wider.
TEST(SpeedLocal, WithoutSshConnectionTheAgentBindsTheControllersAddress) {
  std::string via = std::string(SONDE_BIN_DIR) + "/sonde-agent serve";
  auto r = run_sonde({"speed", "--via", via, "--address", "127.0.0.1", "--duration", "500ms",
                      "--rtt-count", "5", "--json"},
                     kNoSsh, 30000);
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  json j = parse(r.out);
  const json* d = find_path(j, "direct", "upload");
  ASSERT_NE(d, nullptr) << r.out;
  expect_measured(*d, "upload", 5);
  EXPECT_EQ(d->value("agent_listen", "").rfind("127.0.0.1:", 0), 0u) << d->dump();
}

// An address the agent does not have (NAT, a proxy): the direct path says
// why it was not measured instead of opening every interface.
TEST(SpeedLocal, AnAddressTheAgentLacksIsReportedNotWidened) {
  std::string via = std::string(SONDE_BIN_DIR) + "/sonde-agent serve";
  // 192.0.2.1 is TEST-NET-1: no host has it.
  auto r = run_sonde({"speed", "--via", via, "--address", "192.0.2.1", "--duration", "500ms",
                      "--timeout", "1s", "--json"},
                     kNoSsh, 30000);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  json j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  const json* d = find_path(j, "direct");
  ASSERT_NE(d, nullptr) << r.out;
  EXPECT_EQ(d->value("status", ""), "failed");
  EXPECT_TRUE(contains(d->value("reason", ""), "cannot listen on 192.0.2.1")) << d->dump();
  EXPECT_TRUE(contains(d->value("hint", ""), "--bind")) << d->dump();
}

TEST(SpeedLocal, EveryInterfaceIsRefused) {
  for (const char* any : {"0.0.0.0", "::"}) {
    auto r = run_sonde({"speed", "local", "--bind", any, "--duration", "500ms", "--json"}, kNoSsh,
                       30000);
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    json j = parse(r.out);
    ASSERT_TRUE(j.is_object()) << r.out;
    const json* d = find_path(j, "direct");
    ASSERT_NE(d, nullptr) << r.out;
    EXPECT_EQ(d->value("status", ""), "failed");
    EXPECT_TRUE(contains(d->value("reason", ""), "not every interface")) << d->dump();
  }
}

class SpeedSsh : public SshdSuite {
 protected:
  static sonde::testing::Run speed(std::vector<std::string> extra) {
    std::vector<std::string> args = {"speed",       sshd_->alias(), "--duration", "1s",
                                     "--rtt-count", "30",           "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_sonde(args, sshd_env(), 60000);
  }
};

TEST_F(SpeedSsh, BothPathsUpload) {
  auto r = speed({});
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  json j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  const json* d = find_path(j, "direct", "upload");
  const json* s = find_path(j, "ssh", "upload");
  ASSERT_TRUE(d && s) << r.out;
  expect_measured(*d, "upload", 30);
  expect_measured(*s, "upload", 30);
  // The fixture's sshd is on 127.0.0.1: the direct path goes where the SSH
  // connection went, and the agent listened on the SSH_CONNECTION address.
  EXPECT_TRUE(contains(d->value("address", ""), "127.0.0.1:")) << d->dump();
  EXPECT_TRUE(contains(d->value("agent_listen", ""), "127.0.0.1:")) << d->dump();
  EXPECT_EQ(s->value("tcp_info_from", ""), "controller's SSH socket");
  EXPECT_TRUE((*s)["retransmits"].is_number()) << "uploading, we are the SSH sender";
  EXPECT_TRUE(contains(r.err, "sonde: ssh upload: through ")) << r.err;
  EXPECT_TRUE(contains(r.err, "sonde: ssh upload: sending for 1 s\n")) << r.err;
  EXPECT_TRUE(j.value("ok", false));
  std::string summary = j.value("summary", "");
  EXPECT_TRUE(contains(summary, "direct upload") && contains(summary, "ssh upload")) << summary;
}

TEST_F(SpeedSsh, BothPathsReverse) {
  auto r = speed({"--reverse"});
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  json j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  const json* d = find_path(j, "direct", "download");
  const json* s = find_path(j, "ssh", "download");
  ASSERT_TRUE(d && s) << r.out;
  expect_measured(*d, "download", 30);
  expect_measured(*s, "download", 30);
  EXPECT_EQ(d->value("tcp_info_from", ""), "agent (sender)");
}

TEST_F(SpeedSsh, BothDirectionsText) {
  auto r = run_sonde({"speed", sshd_->alias(), "--duration", "500ms", "--both"},
                     {{"HOME", sshd_->home()}}, 60000);
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  for (const char* row :
       {"direct  upload", "ssh     upload", "direct  download", "ssh     download"})
    EXPECT_TRUE(contains(r.out, row)) << row << "\n" << r.out;
  EXPECT_TRUE(contains(r.out, "summary: ")) << r.out;
}

// The direct path cannot be made (here: the agent listens on 127.0.0.1 and
// we knock on 127.0.0.2, refused like a REJECT rule would): it is reported
// with its reason, the SSH path is still measured, and the exit status is 1.
TEST_F(SpeedSsh, DirectRefusedSshStillMeasured) {
  auto r = speed({"--bind", "127.0.0.1", "--address", "127.0.0.2"});
  EXPECT_EQ(r.exit_code, 1) << describe(r) << r.out;
  json j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  const json* d = find_path(j, "direct", "upload");
  const json* s = find_path(j, "ssh", "upload");
  ASSERT_TRUE(d && s) << r.out;
  EXPECT_EQ(d->value("status", ""), "failed");
  EXPECT_TRUE(contains(d->value("reason", ""), "127.0.0.2:")) << d->dump(2);
  EXPECT_TRUE(contains(d->value("reason", ""), "connection refused")) << d->dump(2);
  EXPECT_TRUE(contains(d->value("hint", ""), "the SSH path still measures")) << d->dump(2);
  expect_measured(*s, "upload", 30);
  EXPECT_FALSE(j.value("ok", true));
}

// An agent in its own namespace behind a firewall that lets no new TCP
// connection in: the direct path fails, named, within --timeout, and the
// command ends with exit 1.
class SpeedBlocked : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    lab_ = NetLab::create(&why).release();
    if (!lab_) {
      why_ = why.empty() ? "the network lab could not be built" : why;
      return;
    }
    client_ = lab_->add_host("client");
    drop_ = lab_->add_host("drop");
    reject_ = lab_->add_host("reject");
    ready_ = !client_.ns.empty() && !drop_.ns.empty() && !reject_.ns.empty() &&
             lab_->nft(drop_, rules("drop")) && lab_->nft(reject_, rules("reject with tcp reset"));
  }
  static void TearDownTestSuite() {
    delete lab_;
    lab_ = nullptr;
  }
  void SetUp() override {
    if (!lab_) GTEST_SKIP() << why_;
    ASSERT_TRUE(ready_) << "lab setup failed";
  }
  static std::string rules(const std::string& verdict) {
    // The agent's port is ephemeral: every new inbound TCP connection.
    return "table inet sonde_speed {\n"
           "  chain input {\n"
           "    type filter hook input priority 0; policy accept;\n"
           "    meta l4proto tcp ct state new " +
           verdict +
           "\n"
           "  }\n"
           "}\n";
  }
  static sonde::testing::Run speed(const NetLab::Host& server) {
    return lab_->sonde(client_,
                       {"speed", "--via", lab_->via_agent(server), "--address", server.addr,
                        "--duration", "1s", "--timeout", "1s", "--json"},
                       kNoSsh, 60000);
  }
  static NetLab* lab_;
  static std::string why_;
  static bool ready_;
  static NetLab::Host client_, drop_, reject_;
};
NetLab* SpeedBlocked::lab_ = nullptr;
std::string SpeedBlocked::why_;
bool SpeedBlocked::ready_ = false;
NetLab::Host SpeedBlocked::client_, SpeedBlocked::drop_, SpeedBlocked::reject_;

TEST_F(SpeedBlocked, DroppedDirectPathIsATimeout) {
  auto r = speed(drop_);
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_EQ(r.exit_code, 1) << describe(r) << r.out;
  json j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  const json* d = find_path(j, "direct");
  ASSERT_NE(d, nullptr) << r.out;
  EXPECT_EQ(d->value("status", ""), "failed");
  EXPECT_EQ(d->value("code", ""), "timeout") << d->dump(2);
  EXPECT_TRUE(contains(d->value("reason", ""), drop_.addr + ":")) << d->dump(2);
  EXPECT_TRUE(contains(d->value("reason", ""), "(timeout)")) << d->dump(2);
  EXPECT_TRUE(contains(d->value("hint", ""), "firewall")) << d->dump(2);
  EXPECT_FALSE(j.value("ok", true));
  EXPECT_TRUE(contains(j.value("summary", ""), "direct upload failed")) << j.value("summary", "");
}

TEST_F(SpeedBlocked, RejectedDirectPathIsRefused) {
  auto r = speed(reject_);
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_EQ(r.exit_code, 1) << describe(r) << r.out;
  json j = parse(r.out);
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  const json* d = find_path(j, "direct");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->value("status", ""), "failed");
  EXPECT_TRUE(contains(d->value("reason", ""), "connection refused")) << d->dump(2);
}

TEST_F(SpeedBlocked, OpenPathThroughTheLabIsMeasured) {
  // The same lab without a rule: the direct path crosses the lab's bridge.
  NetLab::Host open = lab_->add_host("open");
  ASSERT_FALSE(open.ns.empty());
  auto r = lab_->sonde(client_,
                       {"speed", "--via", lab_->via_agent(open), "--address", open.addr,
                        "--duration", "1s", "--reverse", "--json"},
                       kNoSsh, 60000);
  // ssh is n/a with --via, which is not a failure.
  ASSERT_EQ(r.exit_code, 0) << describe(r) << r.out;
  json j = parse(r.out);
  const json* d = find_path(j, "direct", "download");
  ASSERT_NE(d, nullptr) << r.out;
  expect_measured(*d, "download", 100);
  EXPECT_TRUE(contains(d->value("address", ""), open.addr + ":")) << d->dump();
  EXPECT_TRUE(contains((*d)["agent"].value("role", ""), "sender"));
}

}  // namespace
}  // namespace sonde::testing
