// The case journal recorded by real sonde runs against the test sshd: a
// scripted session gives the expected entries in order, artifacts are
// copied, secrets are masked unless --no-redact, and runs outside a case
// record nothing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sonde/common/frame.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;
const std::string kTargets = SONDE_TARGETS_DIR;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<json> journal_lines(const std::string& path) {
  std::vector<json> out;
  std::istringstream in(slurp(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::string hostname() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// A TCP listener on 127.0.0.1 for `connect` to find open.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port = ntohs(a.sin_port);
  }
  ~Listener() {
    if (fd >= 0) ::close(fd);
  }
};

class CaseJournal : public SshdSuite {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sonde-case-itest-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    home_ = tmpl;
    SshdSuite::SetUp();
    if (IsSkipped()) return;
    std::string why;
    if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
  }
  void TearDown() override {
    std::error_code ec;
    if (!home_.empty()) fs::remove_all(home_, ec);
  }

  std::map<std::string, std::string> env() const {
    return {{"HOME", sshd_->home()}, {"SONDE_HOME", home_}};
  }
  sonde::testing::Run sonde(const std::vector<std::string>& args, int timeout_ms = 60000) {
    return run_sonde(args, env(), timeout_ms);
  }
  std::string journal(const std::string& name) {
    return home_ + "/cases/" + name + "/journal.jsonl";
  }
  // A sleeping tracee with a secret in its environment and command line.
  std::unique_ptr<Tracee> start_tracee() {
    auto t = Tracee::start({kTargets + "/syscall_loop", "sleeper", "120", "--password=hunter2"},
                           {{"DB_PASSWORD", "hunter2"}});
    if (!t) return nullptr;
    if (!t->wait_line([](const std::string& l) { return l == "READY"; }, 5000)) return nullptr;
    return t;
  }

  std::string home_;
};

TEST_F(CaseJournal, ScriptedSessionRecordsEntriesInOrder) {
  auto t = start_tracee();
  ASSERT_TRUE(t);
  std::string pid = std::to_string(t->pid());
  std::string target = sshd_->alias();
  Listener l;
  ASSERT_GT(l.port, 0);
  std::string svg = home_ + "/flame.txt";

  sonde::testing::Run r = sonde({"case", "new", "incident-1", "--title", "checkout 502s"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(slurp(home_ + "/active"), "incident-1\n");
  r = sonde({"case", "new", "incident-1"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;

  r = sonde({"ps", target, "--limit", "5"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = sonde({"inspect", target, "-p", pid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = sonde({"trace", target, "-p", pid, "-c", "--duration", "1s"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = sonde({"case", "note", "alerts fired", "--at", "14:02", "--tag", "impact"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string port = std::to_string(l.port);
  r = sonde({"connect", "127.0.0.1:" + port, "--from", target, "-c", "1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = sonde({"trace", target, "-p", pid, "-c", "--duration", "1s", "-o", svg});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_TRUE(fs::exists(svg));

  auto e = journal_lines(journal("incident-1"));
  ASSERT_EQ(e.size(), 7u) << slurp(journal("incident-1"));
  for (const auto& x : e) {
    EXPECT_EQ(x["v"], 1);
    EXPECT_TRUE(x["ts"].is_string());
    EXPECT_TRUE(x["at"].is_string());
  }
  EXPECT_EQ(e[0]["kind"], "case");
  EXPECT_EQ(e[0]["text"], "opened");

  const char* commands[] = {nullptr, "ps", "inspect", "trace", nullptr, "connect", "trace"};
  for (size_t i = 1; i < e.size(); ++i) {
    if (!commands[i]) continue;
    SCOPED_TRACE("entry " + std::to_string(i) + ": " + e[i].dump().substr(0, 400));
    EXPECT_EQ(e[i]["kind"], "command");
    EXPECT_EQ(e[i]["command"], commands[i]);
    EXPECT_EQ(e[i]["exit"], 0);
    EXPECT_EQ(e[i]["host"], hostname());
    EXPECT_EQ(e[i]["argv"][0], "sonde");
    EXPECT_EQ(e[i]["argv"][1], commands[i]);
    EXPECT_GE(e[i]["duration_ms"].get<long>(), 0);
    EXPECT_FALSE(e[i]["summary"].get<std::string>().empty());
    ASSERT_TRUE(e[i]["ops"].is_array());
    ASSERT_FALSE(e[i]["ops"].empty());
    EXPECT_TRUE(e[i]["ops"][0].contains("result"));
  }
  // Every command entry keeps its host's clock against the controller's
  // (the same machine here: off by no more than the bound, and some slack).
  for (size_t i : {1, 2, 3, 5, 6}) {
    SCOPED_TRACE("entry " + std::to_string(i));
    ASSERT_TRUE(e[i]["clocks"].is_array()) << e[i].dump().substr(0, 400);
    ASSERT_EQ(e[i]["clocks"].size(), 1u) << e[i]["clocks"].dump();
    const json& c = e[i]["clocks"][0];
    EXPECT_EQ(c["host"], hostname());
    EXPECT_EQ(c["exchanges"], 8);
    EXPECT_LE(std::llabs(c["offset_ns"].get<int64_t>()), c["bound_ns"].get<int64_t>() + 1'000'000);
    // The pings that measured it are not the command's requests.
    for (const auto& op : e[i]["ops"]) EXPECT_NE(op["op"], "ping");
  }
  EXPECT_EQ(e[1]["target"], target);
  EXPECT_EQ(e[1]["ops"][0]["op"], "ps");
  EXPECT_NE(e[1]["summary"].get<std::string>().find("processes"), std::string::npos);
  EXPECT_EQ(e[2]["ops"][0]["op"], "inspect");
  EXPECT_NE(e[2]["summary"].get<std::string>().find("pid " + pid), std::string::npos)
      << e[2]["summary"];
  EXPECT_EQ(e[3]["ops"][0]["op"], "trace");
  EXPECT_NE(e[3]["summary"].get<std::string>().find("syscalls"), std::string::npos)
      << e[3]["summary"];
  EXPECT_NE(e[3]["summary"].get<std::string>().find("nanosleep"), std::string::npos)
      << e[3]["summary"];
  EXPECT_FALSE(e[3]["figures"].empty());

  EXPECT_EQ(e[4]["kind"], "note");
  EXPECT_EQ(e[4]["text"], "alerts fired");
  EXPECT_EQ(e[4]["tag"], "impact");
  EXPECT_NE(e[4]["at"], e[4]["ts"]);
  EXPECT_LT(e[4]["at"].get<std::string>(), e[4]["ts"].get<std::string>());

  EXPECT_EQ(e[5]["target"], "127.0.0.1:" + port);
  ASSERT_EQ(e[5]["ops"].size(), 2u);  // this machine and --from
  for (const auto& op : e[5]["ops"]) EXPECT_EQ(op["op"], "net.connect");
  EXPECT_FALSE(e[5]["summary"].get<std::string>().empty());

  ASSERT_EQ(e[6]["artifacts"].size(), 1u);
  const json& a = e[6]["artifacts"][0];
  EXPECT_EQ(a["path"], "artifacts/0007-flame.txt");
  EXPECT_EQ(a["kind"], "log");
  EXPECT_EQ(a["from"], svg);
  EXPECT_EQ(slurp(home_ + "/cases/incident-1/" + a["path"].get<std::string>()), slurp(svg));
  EXPECT_EQ(a["bytes"].get<size_t>(), slurp(svg).size());
  EXPECT_TRUE(fs::exists(svg)) << "copied, never moved";

  // The timeline: one line per entry, sorted by `at`: the 14:02 note first.
  r = sonde({"case", "timeline"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 7u) << r.out;
  EXPECT_NE(lines[0].find("note/impact"), std::string::npos) << r.out;
  EXPECT_NE(lines[0].find("alerts fired"), std::string::npos) << r.out;
  EXPECT_NE(lines[1].find("case opened"), std::string::npos) << r.out;
  EXPECT_NE(lines[2].find("ps"), std::string::npos) << r.out;
  EXPECT_NE(lines[6].find("+1 artifact"), std::string::npos) << r.out;

  r = sonde({"--json", "case", "timeline", "incident-1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json tl = json::parse(r.out);
  ASSERT_EQ(tl["entries"].size(), 7u);
  EXPECT_EQ(tl["entries"][0]["kind"], "note");

  r = sonde({"case", "show"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("entries 7: 5 commands (0 failed), 1 notes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("artifacts/0007-flame.txt"), std::string::npos) << r.out;

  r = sonde({"case", "list"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("incident-1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("checkout 502s"), std::string::npos) << r.out;

  // The report of this very session: each entry in its section.
  auto section = [](const std::string& doc, const std::string& open, const std::string& next) {
    size_t b = doc.find(open);
    if (b == std::string::npos) return std::string();
    size_t e = doc.find(next, b + open.size());
    return doc.substr(b, e == std::string::npos ? std::string::npos : e - b);
  };
  std::string md_path = home_ + "/incident-1.md", html_path = home_ + "/incident-1.html";
  r = sonde({"report", "incident-1", "-o", md_path});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string md = slurp(md_path);
  EXPECT_NE(section(md, "## Impact", "\n## ").find("alerts fired"), std::string::npos) << md;
  std::string seen = section(md, "## What we saw", "\n## ");
  for (const char* cmd : {"ps", "inspect", "trace", "connect"})
    EXPECT_NE(seen.find(cmd), std::string::npos) << cmd << "\n" << seen;
  std::string timeline = section(md, "## Timeline", "\n## ");
  EXPECT_LT(timeline.find("alerts fired"), timeline.find("sonde ps")) << timeline;
  EXPECT_NE(section(md, "## Why it happened", "\n## ").find("_"), std::string::npos)
      << "an empty section is a prompt\n"
      << md;
  r = sonde({"report", "incident-1", "-o", html_path});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string html = slurp(html_path);
  EXPECT_NE(section(html, "<section id=\"impact\">", "</section>").find("alerts fired"),
            std::string::npos)
      << html;
  EXPECT_NE(section(html, "<section id=\"seen\">", "</section>").find("trace"), std::string::npos)
      << html;

  // Close: a `case` entry, no active case, later runs record nothing.
  r = sonde({"case", "close"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(fs::exists(home_ + "/active"));
  e = journal_lines(journal("incident-1"));
  ASSERT_EQ(e.size(), 8u);
  EXPECT_EQ(e[7]["kind"], "case");
  EXPECT_EQ(e[7]["text"], "closed");
  r = sonde({"ps", target, "--limit", "1"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(journal_lines(journal("incident-1")).size(), 8u);

  // A closed case named with --case: a warning, the command's exit unchanged.
  r = sonde({"--case", "incident-1", "ps", target, "--limit", "1"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.err.find("closed"), std::string::npos) << r.err;
  r = sonde({"--case", "incident-1", "inspect", target, "-p", "999999999"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(journal_lines(journal("incident-1")).size(), 8u);
  // A missing case: a warning too.
  r = sonde({"--case", "nope", "ps", target, "--limit", "1"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
}

TEST_F(CaseJournal, SecretsAreMaskedUnlessNoRedact) {
  auto t = start_tracee();
  ASSERT_TRUE(t);
  std::string pid = std::to_string(t->pid());
  std::string target = sshd_->alias();
  ASSERT_EQ(sonde({"case", "new", "secrets"}).exit_code, 0);
  sonde::testing::Run r = sonde({"inspect", target, "-p", pid, "--env"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_NE(r.out.find("hunter2"), std::string::npos) << "the terminal shows it: " << r.out;
  r = sonde({"case", "note", "login with token=hunter2 failed"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string text = slurp(journal("secrets"));
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text.substr(0, 2000);
  auto e = journal_lines(journal("secrets"));
  ASSERT_EQ(e.size(), 3u);
  EXPECT_GE(e[1]["redacted"].get<int>(), 2);
  EXPECT_NE(e[1]["ops"][0]["result"]["env"].dump().find("DB_PASSWORD=***"), std::string::npos);
  EXPECT_EQ(e[2]["text"], "login with token=*** failed");

  r = sonde({"--no-redact", "inspect", target, "-p", pid, "--env"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  e = journal_lines(journal("secrets"));
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[3]["redacted"], 0);
  EXPECT_NE(e[3].dump().find("DB_PASSWORD=hunter2"), std::string::npos);
  EXPECT_NE(e[3].dump().find("--password=hunter2"), std::string::npos);
}

// A host whose clock is 250 ms ahead (the agent's test offset): the entry
// keeps the offset, and the report says its times were moved.
TEST_F(CaseJournal, EntriesKeepTheHostsClockAndTheReportWarnsPast100Ms) {
  sonde::testing::Run r = sonde({"case", "new", "skewed"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto ahead = env();
  ahead["SONDE_CLOCK_OFFSET_NS"] = "250000000";
  r = run_sonde({"ps", "local", "--limit", "3"}, ahead, 60000);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto e = journal_lines(journal("skewed"));
  ASSERT_EQ(e.size(), 2u);
  ASSERT_EQ(e[1]["clocks"].size(), 1u) << e[1].dump().substr(0, 400);
  const json& c = e[1]["clocks"][0];
  EXPECT_LE(std::llabs(c["offset_ns"].get<int64_t>() - 250'000'000),
            c["bound_ns"].get<int64_t>() + 1'000'000)
      << c.dump();
  std::string md_path = home_ + "/skewed.md";
  r = sonde({"report", "skewed", "-o", md_path});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string md = slurp(md_path);
  EXPECT_NE(md.find("clock of " + hostname() + ": +25"), std::string::npos) << md;
  EXPECT_NE(md.find("over 100 ms"), std::string::npos) << md;
}

TEST_F(CaseJournal, NoActiveCaseWritesNothingAndCaseOptionWorks) {
  std::string target = sshd_->alias();
  sonde::testing::Run r = sonde({"ps", target, "--limit", "1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(fs::exists(home_ + "/cases")) << "nothing written without a case";

  ASSERT_EQ(sonde({"case", "new", "a"}).exit_code, 0);
  ASSERT_EQ(sonde({"case", "new", "b"}).exit_code, 0);  // b is active now
  r = sonde({"--case", "a", "ps", target, "--limit", "1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(journal_lines(journal("a")).size(), 2u);
  EXPECT_EQ(journal_lines(journal("b")).size(), 1u);
  r = sonde({"case", "use", "--none"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = sonde({"ps", target, "--limit", "1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(journal_lines(journal("b")).size(), 1u);
  // A failing command is recorded with its exit code and the agent's error.
  r = sonde({"case", "use", "b"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = sonde({"inspect", target, "-p", "999999999"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  auto e = journal_lines(journal("b"));
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[1]["exit"], 1);
  EXPECT_TRUE(e[1]["ops"][0].contains("error")) << e[1].dump();
  EXPECT_FALSE(e[1]["summary"].get<std::string>().empty());
}

TEST_F(CaseJournal, TruncatedJournalStillLoads) {
  ASSERT_EQ(sonde({"case", "new", "crash"}).exit_code, 0);
  ASSERT_EQ(sonde({"case", "note", "one"}).exit_code, 0);
  std::ofstream(journal("crash"), std::ios::app) << "{\"v\":1,\"kind\":\"no";
  sonde::testing::Run r = sonde({"case", "timeline"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("one"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("journal.jsonl line 3"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sonde::testing
