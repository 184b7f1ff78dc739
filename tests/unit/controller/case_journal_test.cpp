// The case journal store (append, crash-safe load), the redaction patterns,
// note times, case names and the summaries.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "case/journal.h"
#include "case/recorder.h"
#include "case/redact.h"
#include "case/summaries.h"

namespace sonde::controller::casefile {
namespace {

namespace fs = std::filesystem;

class CaseStore : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sonde-case-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    home_ = tmpl;
    ::setenv("SONDE_HOME", home_.c_str(), 1);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(home_, ec);
    ::unsetenv("SONDE_HOME");
  }
  std::string journal(const CaseInfo& c) { return c.dir + "/journal.jsonl"; }
  std::string home_;
};

json note(const std::string& text) {
  return {{"v", 1},       {"kind", "note"},       {"ts", utc_now()}, {"at", utc_now()},
          {"text", text}, {"tag", "observation"}, {"redacted", 0}};
}

TEST_F(CaseStore, CreateUseListRoundTrip) {
  auto c = create_case("incident-1", "checkout 502s");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->dir, home_ + "/cases/incident-1");
  EXPECT_TRUE(fs::is_directory(c->dir + "/artifacts"));
  auto again = create_case("incident-1", "");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().hint.find("case use"), std::string::npos);

  EXPECT_EQ(active_case(), "");
  ASSERT_TRUE(set_active_case("incident-1").ok());
  EXPECT_EQ(active_case(), "incident-1");
  ASSERT_TRUE(set_active_case("").ok());
  EXPECT_EQ(active_case(), "");

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(append_entry(*c, note("n" + std::to_string(i))).ok());
  auto j = load_journal(*c);
  ASSERT_TRUE(j.ok());
  ASSERT_EQ(j->entries.size(), 3u);
  EXPECT_TRUE(j->warnings.empty());
  EXPECT_EQ(j->entries[2]["text"], "n2");

  auto o = open_case("incident-1");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->title, "checkout 502s");
  EXPECT_EQ(o->closed, "");
  ASSERT_TRUE(set_case_closed(*o, "2026-11-25T15:00:00.000Z").ok());
  EXPECT_EQ(open_case("incident-1")->closed, "2026-11-25T15:00:00.000Z");
  auto all = list_cases();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "incident-1");
  EXPECT_FALSE(open_case("nope").ok());
}

TEST_F(CaseStore, TruncatedLastLineLoadsWithWarning) {
  auto c = create_case("crash", "");
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(append_entry(*c, note("n" + std::to_string(i))).ok());
  // A crash mid-write: half a line, no newline.
  std::string half = note("cut").dump();
  half.resize(half.size() / 2);
  std::ofstream(journal(*c), std::ios::app) << half;
  auto j = load_journal(*c);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->entries.size(), 4u);
  ASSERT_EQ(j->warnings.size(), 1u);
  EXPECT_NE(j->warnings[0].find("journal.jsonl line 5"), std::string::npos) << j->warnings[0];
  EXPECT_NE(j->warnings[0].find("truncated"), std::string::npos) << j->warnings[0];
  EXPECT_NE(j->warnings[0].find("skipped"), std::string::npos) << j->warnings[0];

  // The next append starts on a new line: only the broken line is lost.
  ASSERT_TRUE(append_entry(*c, note("after")).ok());
  j = load_journal(*c);
  ASSERT_TRUE(j.ok());
  ASSERT_EQ(j->entries.size(), 5u);
  EXPECT_EQ(j->entries[4]["text"], "after");
  ASSERT_EQ(j->warnings.size(), 1u);
  EXPECT_NE(j->warnings[0].find("line 5"), std::string::npos);
}

TEST_F(CaseStore, GarbageLinesAreSkipped) {
  auto c = create_case("garbage", "");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(append_entry(*c, note("a")).ok());
  std::ofstream(journal(*c), std::ios::app)
      << "this is not json\n[1,2]\n\n{\"v\":1,\"kind\":\"note\"}\n";
  ASSERT_TRUE(append_entry(*c, note("b")).ok());
  auto j = load_journal(*c);
  ASSERT_TRUE(j.ok());
  ASSERT_EQ(j->entries.size(), 3u);
  EXPECT_EQ(j->entries[0]["text"], "a");
  EXPECT_EQ(j->entries[2]["text"], "b");
  ASSERT_EQ(j->warnings.size(), 2u);
  EXPECT_NE(j->warnings[0].find("line 2: not valid JSON"), std::string::npos) << j->warnings[0];
  EXPECT_NE(j->warnings[1].find("line 3: not a JSON object"), std::string::npos) << j->warnings[1];
}

TEST_F(CaseStore, ConcurrentAppendsNeverInterleave) {
  auto c = create_case("busy", "");
  ASSERT_TRUE(c.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        json e = note(std::string(1000 + (i % 7) * 500, 'x'));
        e["thread"] = t;
        e["i"] = i;
        EXPECT_TRUE(append_entry(*c, e).ok());
      }
    });
  for (auto& t : threads) t.join();
  auto j = load_journal(*c);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->entries.size(), 800u);
  EXPECT_TRUE(j->warnings.empty()) << j->warnings.front();
  std::map<int, int> per;
  for (const auto& e : j->entries) ++per[e["thread"].get<int>()];
  for (int t = 0; t < 4; ++t) EXPECT_EQ(per[t], 200);
}

// ---- modes: the store holds what targets showed, for its owner only ----

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

class CaseStoreModes : public CaseStore {
 protected:
  void SetUp() override {
    CaseStore::SetUp();
    old_umask_ = ::umask(022);  // a usual umask: sonde must not rely on a strict one
  }
  void TearDown() override {
    ::umask(old_umask_);
    CaseStore::TearDown();
  }
  mode_t old_umask_ = 022;
};

TEST_F(CaseStoreModes, NewStoreIsPrivate) {
  // $SONDE_HOME that sonde creates itself.
  const std::string store = home_ + "/store/sonde";
  ::setenv("SONDE_HOME", store.c_str(), 1);
  auto c = create_case("incident-9", "db creds");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(set_active_case("incident-9").ok());
  ASSERT_TRUE(append_entry(*c, note("first")).ok());
  std::string src = home_ + "/capture.pcap";
  { std::ofstream(src) << "pcap bytes"; }
  std::string why;
  json art = copy_artifact(c->dir, 1, src, &why);
  ASSERT_FALSE(art.is_null()) << why;

  EXPECT_EQ(mode_of(home_ + "/store"), 0700u) << std::oct << mode_of(home_ + "/store");
  EXPECT_EQ(mode_of(store), 0700u);
  EXPECT_EQ(mode_of(store + "/cases"), 0700u);
  EXPECT_EQ(mode_of(c->dir), 0700u);
  EXPECT_EQ(mode_of(c->dir + "/artifacts"), 0700u);
  EXPECT_EQ(mode_of(c->dir + "/case.json"), 0600u);
  EXPECT_EQ(mode_of(c->dir + "/journal.jsonl"), 0600u);
  EXPECT_EQ(mode_of(store + "/active"), 0600u);
  EXPECT_EQ(mode_of(c->dir + "/" + art["path"].get<std::string>()), 0600u);
  // Rewrites keep it so.
  ASSERT_TRUE(set_case_closed(*c, "2026-11-25T15:00:00.000Z").ok());
  EXPECT_EQ(mode_of(c->dir + "/case.json"), 0600u);
}

TEST_F(CaseStoreModes, WiderModesOfAnOlderStoreAreNarrowedWithAWarning) {
  auto c = create_case("old-case", "");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(append_entry(*c, note("x")).ok());
  std::string art = c->dir + "/artifacts/0001-t.log";
  { std::ofstream(art) << "log"; }
  // What an older sonde made.
  ::chmod((home_ + "/cases").c_str(), 0755);
  ::chmod(c->dir.c_str(), 0755);
  ::chmod((c->dir + "/artifacts").c_str(), 0755);
  ::chmod((c->dir + "/journal.jsonl").c_str(), 0644);
  ::chmod((c->dir + "/case.json").c_str(), 0644);
  ::chmod(art.c_str(), 0644);
  ::testing::internal::CaptureStderr();
  auto o = open_case("old-case");
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(mode_of(home_ + "/cases"), 0700u);
  EXPECT_EQ(mode_of(c->dir), 0700u);
  EXPECT_EQ(mode_of(c->dir + "/artifacts"), 0700u);
  EXPECT_EQ(mode_of(c->dir + "/journal.jsonl"), 0600u);
  EXPECT_EQ(mode_of(c->dir + "/case.json"), 0600u);
  EXPECT_EQ(mode_of(art), 0600u);
  EXPECT_NE(err.find(c->dir + "/journal.jsonl was open to other users (mode 0644); now 0600"),
            std::string::npos)
      << err;
}

TEST_F(CaseStoreModes, AnExplicitHomeIsWarnedAboutNotChanged) {
  // $SONDE_HOME named by the user may be a folder of theirs: warn only.
  ::chmod(home_.c_str(), 0755);
  ::testing::internal::CaptureStderr();
  auto c = create_case("c1", "");
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(mode_of(home_), 0755u);
  EXPECT_NE(err.find("$SONDE_HOME " + home_ + " is open to other users (mode 0755)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("hint: chmod 700 " + home_), std::string::npos) << err;
  EXPECT_EQ(mode_of(c->dir), 0700u);
}

TEST_F(CaseStoreModes, TheDefaultHomeIsOursAndNarrowed) {
  const char* old_home = std::getenv("HOME");
  std::string saved = old_home ? old_home : "";
  ::unsetenv("SONDE_HOME");
  ::unsetenv("XDG_DATA_HOME");
  ::setenv("HOME", home_.c_str(), 1);
  std::string store = home_ + "/.local/share/sonde";
  fs::create_directories(store);
  ::chmod(store.c_str(), 0755);
  auto c = create_case("c2", "");
  if (!saved.empty()) ::setenv("HOME", saved.c_str(), 1);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(mode_of(store), 0700u);
  EXPECT_EQ(mode_of(store + "/cases"), 0700u);
}

TEST(CaseNames, Valid) {
  for (const std::string& ok :
       std::vector<std::string>{"incident-1", "a", "INC_2026.11.25", std::string(64, 'x')})
    EXPECT_TRUE(valid_case_name(ok).ok()) << ok;
  for (const std::string& bad :
       std::vector<std::string>{"", ".hidden", "a/b", "..", "sp ace", "ü", std::string(65, 'x')})
    EXPECT_FALSE(valid_case_name(bad).ok()) << bad;
}

TEST(CaseRedact, CommandLineSecrets) {
  int n = 0;
  json argv = redact_argv(json::array({"sonde", "trace", "local", "--", "app", "--password=hunter2",
                                       "--token", "abc123", "--api-key=k1", "-v"}),
                          &n);
  EXPECT_EQ(argv[5], "--password=***");
  EXPECT_EQ(argv[6], "--token");
  EXPECT_EQ(argv[7], "***");
  EXPECT_EQ(argv[8], "--api-key=***");
  EXPECT_EQ(argv[9], "-v");
  EXPECT_EQ(n, 3);
  EXPECT_EQ(argv.dump().find("hunter2"), std::string::npos);
}

TEST(CaseRedact, TextPatterns) {
  auto r = [](const std::string& s, int expect) {
    int n = 0;
    std::string out = redact_text(s, &n);
    EXPECT_EQ(n, expect) << s << " -> " << out;
    return out;
  };
  EXPECT_EQ(r("DB_PASSWORD=hunter2", 1), "DB_PASSWORD=***");
  EXPECT_EQ(r("curl -u x https://bob:s3cret@example.com/x", 1),
            "curl -u x https://bob:***@example.com/x");
  EXPECT_EQ(r("Authorization: Bearer eyJhbGciOi", 1), "Authorization: Bearer ***");
  EXPECT_EQ(r("authorization: Basic dXNlcjpwYXNz", 1), "authorization: Basic ***");
  EXPECT_EQ(r("Cookie: session=abc; theme=dark", 1), "Cookie: ***");
  EXPECT_EQ(r("Set-Cookie: id=xyz; HttpOnly", 1), "Set-Cookie: ***");
  EXPECT_EQ(r("GET /?token=abc&page=2", 1), "GET /?token=***&page=2");
  EXPECT_EQ(r("app --secret hush --verbose", 1), "app --secret *** --verbose");
  EXPECT_EQ(r("{\"api_key\": \"k-123\"}", 1), "{\"api_key\": \"***\"}");
  EXPECT_EQ(r("AWS_ACCESS_KEY=AKIA1", 1), "AWS_ACCESS_KEY=***");
  EXPECT_EQ(r("pwd=x", 1), "pwd=***");
  // Not secrets.
  EXPECT_EQ(r("tokenizer=bert", 0), "tokenizer=bert");
  EXPECT_EQ(r("author=alice", 0), "author=alice");
  EXPECT_EQ(r("keyboard=us", 0), "keyboard=us");
  EXPECT_EQ(r("futex: 1203 calls, 12 errors", 0), "futex: 1203 calls, 12 errors");
  EXPECT_EQ(r("ssh bob@example.com", 0), "ssh bob@example.com");
  EXPECT_EQ(r("read(3, \"...\", 4096) = 4096", 0), "read(3, \"...\", 4096) = 4096");
}

TEST(CaseRedact, JsonEnvironmentAndKeys) {
  int n = 0;
  json r = redact_json({{"pid", 42},
                        {"env", {"PATH=/usr/bin", "DB_PASSWORD=hunter2", "HOME=/root"}},
                        {"cmdline", {"app", "--password", "hunter2"}},
                        {"password", "p"},
                        {"events", {{{"args_text", "\"Authorization: Bearer zzz\""}}}}},
                       &n);
  EXPECT_EQ(r["env"][0], "PATH=***");
  EXPECT_EQ(r["env"][1], "DB_PASSWORD=***");
  EXPECT_EQ(r["cmdline"][2], "***");
  EXPECT_EQ(r["password"], "***");
  EXPECT_EQ(r["pid"], 42);
  EXPECT_EQ(r.dump().find("hunter2"), std::string::npos) << r.dump();
  EXPECT_EQ(r.dump().find("zzz"), std::string::npos) << r.dump();
  EXPECT_EQ(n, 3 + 1 + 1 + 1);
}

TEST(CaseNoteTime, Forms) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  long now = 1795600800;  // 2026-11-25T10:00:00Z
  EXPECT_EQ(utc_text(now), "2026-11-25T10:00:00Z");
  EXPECT_EQ(*parse_note_time("09:02", now), "2026-11-25T09:02:00Z");
  EXPECT_EQ(*parse_note_time("09:02:30", now), "2026-11-25T09:02:30Z");
  // Later than now today: it was yesterday.
  EXPECT_EQ(*parse_note_time("14:02", now), "2026-11-24T14:02:00Z");
  EXPECT_EQ(*parse_note_time("2026-11-25T14:02Z", now), "2026-11-25T14:02:00Z");
  EXPECT_EQ(*parse_note_time("2026-11-25T14:02:30Z", now), "2026-11-25T14:02:30Z");
  EXPECT_EQ(*parse_note_time("-15m", now), "2026-11-25T09:45:00Z");
  EXPECT_EQ(*parse_note_time("-90s", now), "2026-11-25T09:58:30Z");
  for (const char* bad :
       {"", "25:00", "14:61", "yesterday", "14", "2026-13-01T00:00Z", "-x", "14:02pm"})
    EXPECT_FALSE(parse_note_time(bad, now).ok()) << bad;
  // Local time: 09:02 in UTC+2 is 07:02Z.
  ::setenv("TZ", "EET-2", 1);
  ::tzset();
  EXPECT_EQ(*parse_note_time("09:02", now), "2026-11-25T07:02:00Z");
  ::setenv("TZ", "UTC", 1);
  ::tzset();
}

TEST(CaseSummaries, PerOp) {
  json trace = {{"op", "trace"},
                {"host", "web1"},
                {"result",
                 {{"duration_ms", 1000},
                  {"total", {{"calls", 1300}, {"errors", 12}, {"time_ns", 900000000}}},
                  {"syscalls",
                   {{{"name", "futex"}, {"calls", 1203}, {"errors", 12}, {"time_ns", 800000000}},
                    {{"name", "read"}, {"calls", 97}, {"errors", 0}, {"time_ns", 100000000}}}}}}};
  Summary s = summarize_op(trace);
  EXPECT_NE(s.line.find("1300 syscalls, 12 errors"), std::string::npos) << s.line;
  EXPECT_NE(s.line.find("futex"), std::string::npos) << s.line;
  ASSERT_FALSE(s.figures.empty());
  EXPECT_EQ(s.figures[0], "futex: 1203 calls, 12 errors, 800 ms");

  json ps = {{"op", "ps"},
             {"result",
              {{"total", 2},
               {"processes",
                {{{"pid", 1}, {"comm", "init"}, {"cpu_pct", 0.1}},
                 {{"pid", 7}, {"comm", "java"}, {"cpu_pct", 93.5}}}}}}};
  s = summarize_op(ps);
  EXPECT_NE(s.line.find("2 processes; top by CPU: java (7) 93.5%"), std::string::npos) << s.line;

  json net = {
      {"op", "net.connect"}, {"host", "web1"}, {"result", {{"summary", "db:5432 refused"}}}};
  EXPECT_EQ(summarize_op(net).line, "db:5432 refused");

  json err = {{"op", "inspect"},
              {"host", "web1"},
              {"error", {{"code", "not_found"}, {"message", "no process 99"}}}};
  EXPECT_NE(summarize_op(err).line.find("no process 99"), std::string::npos);

  // Unknown op, and nothing at all: never empty.
  EXPECT_FALSE(summarize_op({{"op", "gdbserver"}, {"result", json::object()}}).line.empty());
  EXPECT_EQ(summarize_command("forward", {}, 3).line, "forward: exit 3 (no agent answered)");
}

TEST(CaseArtifacts, Kinds) {
  EXPECT_EQ(artifact_kind("/tmp/p.svg"), "svg");
  EXPECT_EQ(artifact_kind("x.pcap"), "pcap");
  EXPECT_EQ(artifact_kind("rec.jfr"), "jfr");
  EXPECT_EQ(artifact_kind("t.log"), "log");
  EXPECT_EQ(artifact_kind("t.txt"), "log");
  EXPECT_EQ(artifact_kind("p.pb.gz"), "pprof");
  EXPECT_EQ(artifact_kind("p.bin"), "other");
}

}  // namespace
}  // namespace sonde::controller::casefile
