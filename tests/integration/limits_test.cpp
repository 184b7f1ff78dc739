// Results that grow with the target stay inside one frame: an answer over
// the frame limit becomes an error reply and the agent lives on, and `ps` on
// a host full of JVM-sized command lines shows them cut, with how much is
// left out.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <set>

#include "agent_client.h"
#include "sonde/common/io.h"
#include "sonde/common/protocol.h"
#include "support/contains.h"
#include "support/sshd_fixture.h"

namespace sonde::testing {
namespace {

size_t msgpack_size(const json& j) {
  return json::to_msgpack(j).size();
}

TEST(Limits, ResultOverTheFrameLimitIsAnErrorReplyAndTheAgentLivesOn) {
  AgentClient a;
  ASSERT_TRUE(a.started());
  auto hello = a.recv();
  ASSERT_TRUE(hello.has_value());
  // `ping` echoes its argument, and its result frame carries a few more bytes
  // than the request (the agent's clock): a request of exactly the limit
  // makes a result just over it.
  std::string pad(kMaxFrameBytes - 64, 'x');
  size_t req = msgpack_size(make_request(1, "ping", {{"echo", pad}}));
  pad.resize(pad.size() + (kMaxFrameBytes - req));
  json request = make_request(1, "ping", {{"echo", pad}});
  ASSERT_EQ(msgpack_size(request), kMaxFrameBytes);
  size_t result_size =
      msgpack_size(make_result(1, {{"agent_time_ns", 1800000000000000000LL}, {"echo", pad}}));
  ASSERT_GT(result_size, kMaxFrameBytes);

  ASSERT_TRUE(a.send(request));
  auto reply = a.recv_final(1, 60000);
  ASSERT_TRUE(reply.has_value()) << "no answer: the agent died or hung";
  EXPECT_EQ((*reply)["kind"], "error") << reply->dump().substr(0, 300);
  EXPECT_EQ((*reply)["code"], errc::kTooLarge);
  std::string msg = reply->value("message", "");
  EXPECT_TRUE(contains(msg, "ping")) << msg;
  EXPECT_TRUE(contains(msg, "result of " + std::to_string(result_size) + " bytes")) << msg;
  EXPECT_FALSE(reply->value("hint", "").empty());

  // Still serving.
  ASSERT_TRUE(a.send(make_request(2, "ping", {{"echo", "still here"}})));
  auto pong = a.recv_final(2, 10000);
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ((*pong)["kind"], "result");
  EXPECT_EQ((*pong)["data"]["echo"], "still here");
}

// 75 processes with 240 KB command lines (a busy Java host): 18 MB of
// command lines, more than one frame holds.
TEST(Limits, PsLocalWith75LongCommandLinesShowsThemCut) {
  const std::string holder = std::string(SONDE_TARGETS_DIR) + "/many_holder";
  ASSERT_EQ(::access(holder.c_str(), X_OK), 0) << holder;
  // Four arguments of 60,000 bytes: one argument may hold at most 128 KiB.
  std::vector<std::string> argv = {holder, "0", "0"};
  for (int i = 0; i < 4; ++i) argv.push_back(std::string(60000, static_cast<char>('a' + i)));
  size_t full = 0;
  for (const auto& s : argv) full += s.size() + 1;
  full -= 1;  // the final NUL is not shown

  std::vector<Child> kids;
  struct Reaper {
    std::vector<Child>& k;
    ~Reaper() {
      for (auto& c : k) c.kill(SIGKILL);
    }
  } reaper{kids};
  for (int i = 0; i < 75; ++i) {
    SpawnOptions o;
    o.pipe_stdin = false;
    auto c = spawn(argv, o);
    ASSERT_TRUE(c.ok()) << c.error().describe();
    kids.push_back(std::move(*c));
  }
  for (auto& c : kids) {
    std::string line;
    char ch;
    while (line.find('\n') == std::string::npos) {
      auto r = wait_readable(c.out().get(), 10000);
      ASSERT_TRUE(r.ok() && *r) << "many_holder did not get ready";
      auto n = read_some(c.out().get(), &ch, 1);
      ASSERT_TRUE(n.ok() && *n == 1);
      line += ch;
    }
    ASSERT_EQ(line, "READY\n");
  }

  auto text = run_sonde({"ps", "local"}, {}, 60000);
  ASSERT_EQ(text.exit_code, 0) << describe(text);
  EXPECT_TRUE(contains(text.out, " more bytes)")) << text.out.substr(0, 2000);
  EXPECT_TRUE(contains(text.out, "command lines cut after their first 4 KiB")) << text.out;
  // The cut command lines fit a terminal's scrollback, not 18 MB of it.
  EXPECT_LT(text.out.size(), 4u << 20);

  auto js = run_sonde({"--json", "ps", "local"}, {}, 60000);
  ASSERT_EQ(js.exit_code, 0) << describe(js);
  json r = json::parse(js.out, nullptr, false);
  ASSERT_TRUE(r.is_object()) << js.out.substr(0, 500);
  EXPECT_GE(r.value("cmdlines_cut", 0), 75);
  EXPECT_EQ(r.value("more", -1), 0);
  std::set<int> ours;
  for (auto& c : kids) ours.insert(c.pid());
  int seen = 0;
  for (const auto& p : r["processes"]) {
    if (!ours.count(p.value("pid", 0))) continue;
    ++seen;
    std::string cl = p.value("cmdline", "");
    size_t more = p.value("cmdline_more_bytes", size_t{0});
    EXPECT_EQ(more, full - 4096) << p.dump().substr(0, 200);
    EXPECT_TRUE(cl.starts_with(holder + " 0 0 aaaa")) << cl.substr(0, 100);
    EXPECT_TRUE(cl.ends_with(" … (" + std::to_string(full - 4096) + " more bytes)"))
        << cl.substr(cl.size() > 80 ? cl.size() - 80 : 0);
    EXPECT_LE(cl.size(), 4096u + 40u);
  }
  EXPECT_EQ(seen, 75);

  // The agent that answered is fine: a second command on a fresh one works
  // too, and so does one that asks for a single process.
  auto one = run_sonde({"ps", "local", "--name", "many_holder", "--limit", "1"}, {}, 30000);
  EXPECT_EQ(one.exit_code, 0) << describe(one);
}

}  // namespace
}  // namespace sonde::testing
