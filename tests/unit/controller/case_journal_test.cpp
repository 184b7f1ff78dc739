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
#include "case/times.h"

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

Entry note(const std::string& text) {
  Entry e;
  e.kind = "note";
  e.ts = e.at = utc_now();
  e.text = text;
  e.tag = "observation";
  return e;
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
  EXPECT_EQ(j->entries[2].text, "n2");

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
  std::string half = to_json(note("cut")).dump();
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
  EXPECT_EQ(j->entries[4].text, "after");
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
  EXPECT_EQ(j->entries[0].text, "a");
  EXPECT_EQ(j->entries[2].text, "b");
  ASSERT_EQ(j->warnings.size(), 2u);
  EXPECT_NE(j->warnings[0].find("line 2: not valid JSON"), std::string::npos) << j->warnings[0];
  EXPECT_NE(j->warnings[1].find("line 3: not a JSON object"), std::string::npos) << j->warnings[1];
}

TEST_F(CaseStore, EditedLinesOfTheWrongShapeAreSkippedNamingLineAndField) {
  auto c = create_case("edited", "");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(append_entry(*c, note("a")).ok());
  std::ofstream(journal(*c), std::ios::app)
      << R"({"v":1,"kind":"command","exit":"0","summary":"ok"})"
         "\n"
      << R"({"v":1,"kind":"command","figures":["x",3]})"
         "\n"
      << R"({"v":1,"kind":"command","ops":[{"op":"ps","error":{"message":42}}]})"
         "\n"
      << R"({"v":1,"kind":"command","artifacts":[{"path":"artifacts/1","bytes":-5}]})"
         "\n"
      << R"({"v":1,"kind":"note","text":["not","text"]})"
         "\n";
  ASSERT_TRUE(append_entry(*c, note("b")).ok());
  auto j = load_journal(*c);
  ASSERT_TRUE(j.ok());
  ASSERT_EQ(j->entries.size(), 2u);
  EXPECT_EQ(j->entries[1].text, "b");
  std::vector<std::string> want = {
      "journal.jsonl line 2: exit: expected an integer, got string; skipped",
      "journal.jsonl line 3: figures[1]: expected a string, got number; skipped",
      "journal.jsonl line 4: ops[0].error.message: expected a string, got number; skipped",
      "journal.jsonl line 5: artifacts[0].bytes: -5 is negative; skipped",
      "journal.jsonl line 6: text: expected a string, got array; skipped"};
  EXPECT_EQ(j->warnings, want);
}

TEST_F(CaseStore, EntriesReadBackFieldForField) {
  auto c = create_case("round", "");
  ASSERT_TRUE(c.ok());
  Entry cmd;
  cmd.kind = "command";
  cmd.ts = cmd.at = "2026-11-25T14:02:03.123Z";
  cmd.argv = {"sonde", "inspect", "web1", "-p", "42"};
  cmd.command = "inspect";
  cmd.target = "web1";
  cmd.host = "web1.example";
  cmd.duration_ms = 120;
  cmd.exit = 0;
  cmd.summary = "pid 42 java";
  cmd.figures = {"pid 42 fds: 3 file"};
  OpRecord settled{"inspect", {{"pid", 42}}, "web1.example", json{{"pid", 42}}, std::nullopt};
  OpRecord failed{"ps", json::object(), "web1.example", std::nullopt,
                  OpError{"permission", "no", "use --sudo"}};
  OpRecord open{"trace", json::object(), std::nullopt, std::nullopt, std::nullopt};
  cmd.ops = {settled, failed, open};
  cmd.artifacts = {{"artifacts/0001-p.svg", "/tmp/p.svg", "svg", 1024}};
  cmd.redacted = 2;
  cmd.clocks = {{"web1.example", -250'000'000, 41'000, 8}};
  Entry fleet = cmd;
  fleet.clocks.clear();
  fleet.target = "web[01-02]";
  fleet.ops.clear();
  fleet.fleet = {{"web01", true, "", 0, "", 12'000, 30'000},
                 {"web02", false, "unreachable", 3, "ssh web02:22: connection refused", {}, {}}};
  fleet.merged = "HOST   PID\nweb01  42\n";
  Entry n = note("seen");
  n.at = "2026-11-25T13:00:00Z";
  Entry opened;
  opened.kind = "case";
  opened.ts = opened.at = "2026-11-25T12:00:00.000Z";
  opened.text = "opened";
  for (const Entry& e : {cmd, n, opened, fleet}) ASSERT_TRUE(append_entry(*c, e).ok());
  auto j = load_journal(*c);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE(j->warnings.empty()) << j->warnings.front();
  ASSERT_EQ(j->entries.size(), 4u);
  EXPECT_EQ(to_json(j->entries[3]), to_json(fleet));
  ASSERT_EQ(j->entries[3].fleet.size(), 2u);
  EXPECT_EQ(j->entries[3].fleet[1].failure, "unreachable");
  EXPECT_EQ(j->entries[3].merged, fleet.merged);
  EXPECT_EQ(j->entries[3].fleet[0].clock_offset_ns, 12'000);
  EXPECT_EQ(j->entries[3].fleet[0].clock_bound_ns, 30'000);
  EXPECT_FALSE(j->entries[3].fleet[1].clock_offset_ns) << "not measured: not written";
  ASSERT_EQ(j->entries[0].clocks.size(), 1u);
  EXPECT_EQ(j->entries[0].clocks[0].offset_ns, -250'000'000);
  EXPECT_EQ(j->entries[0].clocks[0].bound_ns, 41'000);
  EXPECT_EQ(j->entries[0].clocks[0].exchanges, 8);
  EXPECT_FALSE(to_json(cmd).contains("fleet")) << "one host: no fleet fields";
  EXPECT_EQ(to_json(j->entries[0]), to_json(cmd));
  EXPECT_EQ(to_json(j->entries[1]), to_json(n));
  EXPECT_EQ(to_json(j->entries[2]), to_json(opened));
  const Entry& back = j->entries[0];
  EXPECT_EQ(back.exit, 0);
  ASSERT_EQ(back.ops.size(), 3u);
  EXPECT_EQ(back.ops[1].error->hint, "use --sudo");
  EXPECT_FALSE(back.ops[2].host);
  EXPECT_EQ(back.artifacts[0].bytes, 1024u);
  // The fields of its kind, as journal.h lists them; nothing else.
  json note_j = to_json(n);
  for (const char* k : {"v", "kind", "ts", "at", "text", "tag", "redacted"})
    EXPECT_TRUE(note_j.contains(k)) << k;
  EXPECT_EQ(note_j.size(), 7u) << note_j.dump();
  EXPECT_EQ(to_json(opened).size(), 7u) << to_json(opened).dump();  // text and summary
}

TEST_F(CaseStore, CaseMetaOfTheWrongTypeIsWarnedAboutAndTheRestStillCounts) {
  auto c = create_case("meta", "title");
  ASSERT_TRUE(c.ok());
  std::ofstream(c->dir + "/case.json", std::ios::trunc)
      << R"({"name":"meta","title":7,"created":"2026-11-25T12:00:00.000Z",)"
      << R"("closed":"2026-11-25T13:00:00.000Z"})";
  ::testing::internal::CaptureStderr();
  auto o = open_case("meta");
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->title, "");
  EXPECT_EQ(o->closed, "2026-11-25T13:00:00.000Z");
  EXPECT_NE(err.find("case.json: title: expected a string, got number; ignored"), std::string::npos)
      << err;
}

TEST_F(CaseStore, ConcurrentAppendsNeverInterleave) {
  auto c = create_case("busy", "");
  ASSERT_TRUE(c.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        Entry e = note(std::string(1000 + (i % 7) * 500, 'x'));
        e.tag = "t" + std::to_string(t);
        EXPECT_TRUE(append_entry(*c, e).ok());
      }
    });
  for (auto& t : threads) t.join();
  auto j = load_journal(*c);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->entries.size(), 800u);
  EXPECT_TRUE(j->warnings.empty()) << j->warnings.front();
  std::map<std::string, int> per;
  for (const auto& e : j->entries) ++per[e.tag];
  for (int t = 0; t < 4; ++t) EXPECT_EQ(per["t" + std::to_string(t)], 200);
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
  auto art = copy_artifact(c->dir, 1, src, &why);
  ASSERT_TRUE(art) << why;
  EXPECT_EQ(art->kind, "pcap");
  EXPECT_EQ(art->bytes, 10u);

  EXPECT_EQ(mode_of(home_ + "/store"), 0700u) << std::oct << mode_of(home_ + "/store");
  EXPECT_EQ(mode_of(store), 0700u);
  EXPECT_EQ(mode_of(store + "/cases"), 0700u);
  EXPECT_EQ(mode_of(c->dir), 0700u);
  EXPECT_EQ(mode_of(c->dir + "/artifacts"), 0700u);
  EXPECT_EQ(mode_of(c->dir + "/case.json"), 0600u);
  EXPECT_EQ(mode_of(c->dir + "/journal.jsonl"), 0600u);
  EXPECT_EQ(mode_of(store + "/active"), 0600u);
  EXPECT_EQ(mode_of(c->dir + "/" + art->path), 0600u);
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

TEST(CaseTimes, OneParserForJournalAndPeople) {
  ::setenv("TZ", "EET-2", 1);
  ::tzset();
  const long long t = 1795600800000LL;  // 2026-11-25T10:00:00Z
  EXPECT_EQ(parse_time_ms("2026-11-25T10:00:00Z", BareTime::kUtc), t);
  EXPECT_EQ(parse_time_ms("2026-11-25T10:00:00.123Z", BareTime::kUtc), t + 123);
  EXPECT_EQ(parse_time_ms("2026-11-25T10:00:00.5Z", BareTime::kUtc), t + 500);
  EXPECT_EQ(parse_time_ms("2026-11-25t10:00z", BareTime::kUtc), t);
  EXPECT_EQ(parse_time_ms("2026-11-25 12:00:00+02:00", BareTime::kUtc), t);
  EXPECT_EQ(parse_time_ms("2026-11-25T05:00:00-0500", BareTime::kUtc), t);
  // No zone: UTC in a journal, local time (here UTC+2) from a person.
  EXPECT_EQ(parse_time_ms("2026-11-25T10:00:00", BareTime::kUtc), t);
  EXPECT_EQ(parse_time_ms("2026-11-25T12:00:00", BareTime::kLocal), t);
  for (const char* bad :
       {"", "2026-11-25", "2026-11-25T10", "2026-11-25T10:00:00Zjunk", "2026-13-25T10:00Z",
        "1969-12-31T23:59Z", "2026-11-25T10:00:00+2", "2026-11-25T24:00Z", "2026-11-25T10:00:00."})
    EXPECT_FALSE(parse_time_ms(bad, BareTime::kUtc)) << bad;
  ::setenv("TZ", "UTC", 1);
  ::tzset();
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

OpRecord op(const std::string& name, const std::string& host, json result) {
  OpRecord o;
  o.op = name;
  if (!host.empty()) o.host = host;
  o.result = std::move(result);
  return o;
}

TEST(CaseSummaries, PerOp) {
  OpRecord trace =
      op("trace", "web1",
         {{"duration_ms", 1000},
          {"total", {{"calls", 1300}, {"errors", 12}, {"time_ns", 900000000}}},
          {"syscalls",
           {{{"name", "futex"}, {"calls", 1203}, {"errors", 12}, {"time_ns", 800000000}},
            {{"name", "read"}, {"calls", 97}, {"errors", 0}, {"time_ns", 100000000}}}}});
  Summary s = summarize_op(trace);
  EXPECT_NE(s.line.find("1300 syscalls, 12 errors"), std::string::npos) << s.line;
  EXPECT_NE(s.line.find("futex"), std::string::npos) << s.line;
  ASSERT_FALSE(s.figures.empty());
  EXPECT_EQ(s.figures[0], "futex: 1203 calls, 12 errors, 800 ms");

  OpRecord ps = op("ps", "",
                   {{"total", 2},
                    {"processes",
                     {{{"pid", 1}, {"comm", "init"}, {"cpu_pct", 0.1}},
                      {{"pid", 7}, {"comm", "java"}, {"cpu_pct", 93.5}}}}});
  s = summarize_op(ps);
  EXPECT_NE(s.line.find("2 processes; top by CPU: java (7) 93.5%"), std::string::npos) << s.line;

  OpRecord inspect = op("inspect", "web1",
                        {{"pid", 42},
                         {"comm", "java"},
                         {"cmdline", {"java", "-jar", "app.jar"}},
                         {"state", "S"},
                         {"state_name", "sleeping"},
                         {"user", "app"},
                         {"threads", {{{"tid", 42}}, {{"tid", 43}}}},
                         {"fds",
                          {{{"fd", 0}, {"kind", "device"}},
                           {{"fd", 3}, {"kind", "socket"}},
                           {{"fd", 4}, {"kind", "socket"}}}}});
  s = summarize_op(inspect);
  EXPECT_EQ(s.line, "pid 42 java -jar app.jar: sleeping, 2 threads, 3 fds, user app");
  EXPECT_EQ(s.figures, std::vector<std::string>{"pid 42 fds: 1 device, 2 socket"});

  OpRecord net = op("net.connect", "web1", {{"summary", "db:5432 refused"}});
  EXPECT_EQ(summarize_op(net).line, "db:5432 refused");

  OpRecord err;
  err.op = "inspect";
  err.host = "web1";
  err.error = OpError{"not_found", "no process 99", ""};
  EXPECT_NE(summarize_op(err).line.find("no process 99"), std::string::npos);

  // Unknown op, and nothing at all: never empty.
  EXPECT_FALSE(summarize_op(op("gdbserver", "", json::object())).line.empty());
  EXPECT_EQ(summarize_command("forward", {}, 3).line, "forward: exit 3 (no agent answered)");
}

TEST(CaseSummaries, AResultThatDoesNotReadGivesTheGenericLine) {
  // A field of the wrong type, where the old reader's get<>() threw.
  Summary s = summarize_op(op("trace", "web1", {{"total", {{"calls", "many"}}}}));
  EXPECT_EQ(s.line, "trace on web1: done");
  s = summarize_op(op("ps", "web1", {{"processes", {{{"pid", "1"}}}}}));
  EXPECT_EQ(s.line, "ps on web1: done");
  s = summarize_op(op("profile", "", {{"stacks", {{{"count", "x"}, {"frames", {"a"}}}}}}));
  EXPECT_FALSE(s.line.empty());
  s = summarize_op(op("jvm.list", "", {{"jvms", "none"}}));
  EXPECT_EQ(s.line, "0 JVMs");
}

TEST(CaseSummaries, ANetworkFaultSaysWhatWhereWhenAndThatItWasRemoved) {
  json r = {{"id", "0a1b2c3d"},
            {"what", "delay 200ms"},
            {"scope", "to/from 10.0.0.5"},
            {"devices", {{{"dev", "eth0"}, {"qdisc", "htb 5d0e: class 5d0e:2c3d, netem 5d0f:"}}}},
            {"table", "inet sonde_fault_0a1b2c3d"},
            {"started_ns", 1700000000000000000LL},
            {"ended_ns", 1700000030000000000LL},
            {"applied", true},
            {"undone", true},
            {"stopped", "duration"}};
  Summary s = summarize_op(op("inject_net", "web1", r));
  EXPECT_EQ(s.line,
            "network fault delay 200ms, to/from 10.0.0.5 from 22:13:20 to 22:13:50 UTC; removed "
            "(duration)");
  EXPECT_EQ(s.figures, (std::vector<std::string>{"eth0: htb 5d0e: class 5d0e:2c3d, netem 5d0f:",
                                                 "nft table inet sonde_fault_0a1b2c3d"}));
  r["planned_only"] = true;
  r["applied"] = false;
  EXPECT_EQ(summarize_op(op("inject_net", "web1", r)).line,
            "network fault delay 200ms, to/from 10.0.0.5: planned only, nothing changed");
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
