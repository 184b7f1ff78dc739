// Hostile or odd input end to end: a fake agent (a shell script replaying
// frames) whose answers have the wrong shape must give a protocol error that
// names the op, and processes, paths and hostnames whose bytes are not UTF-8
// must come out of ps, inspect, trace -y, hello and the case journal intact.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent_client.h"
#include "sonde/common/io.h"
#include "sonde/common/protocol.h"
#include "support/contains.h"
#include "support/sshd_fixture.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;
const std::string kAgent = std::string(SONDE_BIN_DIR) + "/sonde-agent";
const std::string kReplacement = "\xef\xbf\xbd";  // U+FFFD

std::string temp_dir(const char* prefix) {
  std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return {};
  return tmpl;
}

// An agent that is a shell script: it says hello, waits for the controller's
// first bytes, sends the frames it was given (answers for request 1 onwards:
// the controller numbers its requests from 1), then reads until EOF.
class FakeAgent {
 public:
  explicit FakeAgent(const std::vector<json>& answers, json hello = {{"protocol", kProtocolVersion},
                                                                     {"agent_version", "fake"},
                                                                     {"hostname", "fake-host"}}) {
    dir_ = temp_dir("sonde-fake-agent");
    std::ofstream(dir_ + "/hello", std::ios::binary) << encode_frame(make_hello(hello)).value();
    std::string frames;
    for (const auto& a : answers) frames += encode_frame(a).value();
    std::ofstream(dir_ + "/answers", std::ios::binary) << frames;
  }
  ~FakeAgent() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string via() const {
    return "cat " + dir_ + "/hello; head -c 1 >/dev/null; cat " + dir_ + "/answers; cat >/dev/null";
  }

 private:
  std::string dir_;
};

void expect_protocol_error(const Run& r, const std::string& what) {
  EXPECT_EQ(r.exit_code, 6) << describe(r);
  EXPECT_TRUE(contains(r.err, what)) << r.err;
  EXPECT_FALSE(contains(r.err, "internal error")) << r.err;
  EXPECT_TRUE(contains(r.err, "hint: ")) << r.err;
}

TEST(FakeAgent, PsResultThatIsNotAMapIsAProtocolErrorNamingTheOp) {
  FakeAgent agent(std::vector<json>{make_result(1, json::array({1, "two", 3}))});
  auto r = run_sonde({"ps", "--via", agent.via()}, {}, 20000);
  expect_protocol_error(r, "malformed `ps` result from the agent: array where a map belongs");
  // Scripts get the same as JSON on stdout.
  auto j = run_sonde({"--json", "ps", "--via", agent.via()}, {}, 20000);
  EXPECT_EQ(j.exit_code, 6) << describe(j);
  json out = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << j.out;
  EXPECT_EQ(out["error"]["code"], "protocol");
  EXPECT_EQ(out["exit_code"], 6);
  EXPECT_TRUE(contains(out["error"]["message"].get<std::string>(), "`ps`"));
}

TEST(FakeAgent, WrongTypeInAFieldTheControllerReadsIsAProtocolError) {
  // `sonde hello` reads the capabilities it gets back field by field.
  FakeAgent agent(std::vector<json>{make_result(1, {{"agent_version", "fake"},
                                                    {"protocol", kProtocolVersion},
                                                    {"hostname", "fake-host"},
                                                    {"pid", 1},
                                                    {"uid", 0},
                                                    {"euid", 0},
                                                    {"gid", 0},
                                                    {"egid", 0},
                                                    {"ptrace", "yes"},
                                                    {"perf_event", 3}})});
  auto r = run_sonde({"hello", "--via", agent.via()}, {}, 20000);
  expect_protocol_error(r, "malformed `capabilities` result from the agent");
  EXPECT_TRUE(contains(r.err, "ptrace: expected a map, got string")) << r.err;
}

TEST(FakeAgent, MalformedEventIsAProtocolErrorNamingTheOp) {
  // A trace event whose `type` is a number where the controller reads a string.
  FakeAgent agent(
      std::vector<json>{make_event(1, {{"events", json::array({{{"type", 5}, {"pid", "x"}}})}}),
                        make_result(1, json::object())});
  auto r = run_sonde({"trace", "--via", agent.via(), "-p", "1", "--duration", "1s"}, {}, 20000);
  expect_protocol_error(r, "malformed `trace` event from the agent");
}

TEST(FakeAgent, HelloWithOddFieldsIsRefusedNotACrash) {
  // Another protocol version whose agent_version is not a string.
  FakeAgent agent(std::vector<json>{}, {{"protocol", 99}, {"agent_version", 7}});
  auto r = run_sonde({"ps", "--via", agent.via()}, {}, 20000);
  EXPECT_EQ(r.exit_code, 6) << describe(r);
  EXPECT_TRUE(contains(r.err, "protocol 99")) << r.err;
  EXPECT_FALSE(contains(r.err, "internal error")) << r.err;
}

TEST(FakeAgent, TooDeeplyNestedFrameIsAProtocolErrorNotACrash) {
  // The answer to ps: a result map whose data nests 200 000 arrays deep
  // (the decoder would recurse once per level).
  std::string payload =
      "\x83\xa2id\x01\xa4kind\xa6result\xa4"
      "data";
  payload += std::string(200000, '\x91');
  payload += '\xc0';
  std::string dir = temp_dir("sonde-deep-agent");
  std::ofstream(dir + "/hello", std::ios::binary)
      << encode_frame(make_hello({{"protocol", kProtocolVersion}, {"agent_version", "fake"}}))
             .value();
  size_t n = payload.size();
  std::string frame{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                    static_cast<char>(n >> 8), static_cast<char>(n)};
  std::ofstream(dir + "/answers", std::ios::binary) << frame + payload;
  std::string via =
      "cat " + dir + "/hello; head -c 1 >/dev/null; cat " + dir + "/answers; cat >/dev/null";
  auto r = run_sonde({"ps", "--via", via}, {}, 20000);
  fs::remove_all(dir);
  EXPECT_EQ(r.exit_code, 6) << describe(r);
  EXPECT_EQ(r.signal, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "nested deeper than 64")) << r.err;
}

// --- host names with shell syntax ----------------------------------------

TEST(HostName, ShellMetacharactersNeverReachAProxyCommand) {
  // An ssh config whose ProxyCommand (run through a shell, %h expanded by
  // libssh) leaves a file behind whenever it runs.
  std::string dir = temp_dir("sonde-proxycmd");
  ASSERT_FALSE(dir.empty());
  std::ofstream(dir + "/config") << "Host *\n  ProxyCommand touch " << dir << "/ran-%h\n";
  for (const std::string& target :
       {"a;touch " + dir + "/pwned", "$(touch " + dir + "/pwned)", "`touch " + dir + "/pwned`",
        "a|touch " + dir + "/pwned", "u$(touch " + dir + "/pwned)@host"}) {
    auto r = run_sonde({"-F", dir + "/config", "ps", target}, {}, 20000);
    EXPECT_EQ(r.exit_code, 2) << target << ": " << describe(r);
    EXPECT_TRUE(contains(r.err, "bad target")) << r.err;
    EXPECT_TRUE(contains(r.err, "ssh/config")) << r.err;
  }
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.path().filename() != "config";
  EXPECT_EQ(files, 0) << "a ProxyCommand ran";
  fs::remove_all(dir);
}

// --- bytes that are not UTF-8 -------------------------------------------

class NotUtf8 : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("sonde-utf8");
    ASSERT_FALSE(dir_.empty());
    path_ = dir_ + "/bad\xff\xfe.txt";
    std::ofstream(path_) << "hello\n";
    std::ofstream(dir_ + "/arg\xff\xfe") << "";
    // tail holds the file open, and its argv carries the bytes.
    SpawnOptions o;
    o.pipe_stdin = false;
    auto c = spawn({"tail", "-f", path_, dir_ + "/arg\xff\xfe"}, o);
    ASSERT_TRUE(c.ok());
    child_ = std::move(*c);
    // Wait until tail has the file open.
    long deadline = mono_ms() + 5000;
    bool open = false;
    while (!open && mono_ms() < deadline) {
      std::error_code ec;
      for (const auto& e :
           fs::directory_iterator("/proc/" + std::to_string(child_.pid()) + "/fd", ec)) {
        auto l = read_link(e.path().string());
        if (l.ok() && *l == path_) open = true;
      }
      if (!open) ::usleep(20000);
    }
    ASSERT_TRUE(open) << "tail did not open " << path_;
  }
  void TearDown() override {
    if (child_.pid() > 0) ::kill(child_.pid(), SIGKILL);
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  std::string token() const { return dir_.substr(5); }  // "sonde-utf8-XXXXXX"

  std::string dir_, path_;
  Child child_;
};

TEST_F(NotUtf8, PsShowsTheProcessInTextAndJson) {
  auto t = run_sonde({"ps", "local", "--name", token(), "--interval", "0"}, {}, 30000);
  ASSERT_EQ(t.exit_code, 0) << describe(t);
  EXPECT_TRUE(contains(t.out, std::to_string(child_.pid()))) << t.out;
  EXPECT_TRUE(contains(t.out, token())) << t.out;

  auto j = run_sonde({"--json", "ps", "local", "--name", token(), "--interval", "0"}, {}, 30000);
  ASSERT_EQ(j.exit_code, 0) << describe(j);
  json out = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << j.out;
  bool found = false;
  for (const auto& p : out["processes"])
    if (p.value("pid", 0) == child_.pid()) {
      found = true;
      std::string cmd = p.value("cmdline", std::string());
      // The agent shows each byte that is not UTF-8 as '?'.
      EXPECT_TRUE(contains(cmd, token() + "/bad??.txt")) << cmd;
      EXPECT_TRUE(contains(cmd, "arg??")) << cmd;
    }
  EXPECT_TRUE(found) << j.out;
}

TEST_F(NotUtf8, InspectShowsTheArgvAndTheOpenPath) {
  std::string pid = std::to_string(child_.pid());
  auto t = run_sonde({"inspect", "local", "-p", pid}, {}, 30000);
  ASSERT_EQ(t.exit_code, 0) << describe(t);
  EXPECT_TRUE(contains(t.out, token() + "/bad")) << t.out;

  auto j = run_sonde({"--json", "inspect", "local", "-p", pid}, {}, 30000);
  ASSERT_EQ(j.exit_code, 0) << describe(j);
  json out = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << j.out;
  EXPECT_TRUE(contains(j.out, token() + "/bad??.txt")) << j.out;
}

TEST_F(NotUtf8, TraceWithFdPathsShowsThePath) {
  std::string why;
  if (!is_root()) {
    auto scope = read_file("/proc/sys/kernel/yama/ptrace_scope");
    if (scope.ok() && !scope->empty() && (*scope)[0] >= '2')
      GTEST_SKIP() << "kernel.yama.ptrace_scope >= 2 and not root";
  }
  auto t =
      run_sonde({"trace", "local", "-y", "-e", "trace=openat,read", "--", "cat", path_}, {}, 30000);
  ASSERT_EQ(t.exit_code, 0) << describe(t);
  EXPECT_TRUE(contains(t.out, token() + "/bad")) << t.out;
  EXPECT_TRUE(contains(t.out, "+++ exited with 0 +++")) << t.out;

  auto j = run_sonde(
      {"--json", "trace", "local", "-y", "-e", "trace=openat,read", "--", "cat", path_}, {}, 30000);
  ASSERT_EQ(j.exit_code, 0) << describe(j);
  std::istringstream in(j.out);
  int lines = 0;
  bool seen = false;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    ++lines;
    json e = json::parse(line, nullptr, false);
    ASSERT_FALSE(e.is_discarded()) << "not JSON: " << line;
    if (contains(line, token() + "/bad")) seen = true;
  }
  EXPECT_GE(lines, 2);
  EXPECT_TRUE(seen) << j.out;
}

// An agent in its own UTS namespace whose hostname is not UTF-8.
TEST(NotUtf8Host, HostnameThatIsNotUtf8ReachesOutputAndTheCaseJournal) {
  if (!is_root()) GTEST_SKIP() << "needs root for a UTS namespace";
  if (!have_program("unshare")) GTEST_SKIP() << "needs unshare (util-linux)";
  std::string via =
      "unshare --uts sh -c \"printf 'h\\377\\376st' > /proc/sys/kernel/hostname && exec " + kAgent +
      " serve\"";
  auto j = run_sonde({"--json", "ps", "--via", via, "--limit", "1", "--interval", "0"}, {}, 30000);
  ASSERT_EQ(j.exit_code, 0) << describe(j);
  json out = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << j.out;
  EXPECT_EQ(out["host"], "h" + kReplacement + kReplacement + "st");

  auto t = run_sonde({"ps", "--via", via, "--limit", "1", "--interval", "0"}, {}, 30000);
  EXPECT_EQ(t.exit_code, 0) << describe(t);
  auto h = run_sonde({"hello", "--via", via}, {}, 30000);
  EXPECT_EQ(h.exit_code, 0) << describe(h);
  EXPECT_TRUE(contains(h.out, "h\xff\xfest")) << h.out;
  auto hj = run_sonde({"--json", "-vv", "hello", "--via", via}, {}, 30000);
  EXPECT_EQ(hj.exit_code, 0) << describe(hj);
  EXPECT_TRUE(json::parse(hj.out, nullptr, false).is_object()) << hj.out;

  // The case journal records the run with the name it can write.
  std::string home = temp_dir("sonde-utf8-case");
  std::map<std::string, std::string> env = {{"SONDE_HOME", home}};
  auto nc = run_sonde({"case", "new", "oddhost"}, env, 30000);
  ASSERT_EQ(nc.exit_code, 0) << describe(nc);
  auto rec = run_sonde({"ps", "--via", via, "--limit", "1", "--interval", "0"}, env, 30000);
  EXPECT_EQ(rec.exit_code, 0) << describe(rec);
  EXPECT_FALSE(contains(rec.err, "not recorded")) << rec.err;
  bool recorded = false;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(home, ec)) {
    if (e.path().filename() != "journal.jsonl") continue;
    std::ifstream f(e.path());
    for (std::string line; std::getline(f, line);) {
      json entry = json::parse(line, nullptr, false);
      ASSERT_FALSE(entry.is_discarded()) << line;
      if (contains(line, "h" + kReplacement + kReplacement + "st")) recorded = true;
    }
  }
  EXPECT_TRUE(recorded) << "no journal entry names the host";
  fs::remove_all(home, ec);
}

}  // namespace
}  // namespace sonde::testing
