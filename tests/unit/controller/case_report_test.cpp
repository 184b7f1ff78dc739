// The post-mortem report generator over hand-made journal entries: each entry
// lands in the section its kind and tag name, empty sections are prompts,
// hostile text is escaped, SVG artifacts are embedded as images that cannot
// run their scripts.
#include "case/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sonde::controller::casefile {
namespace {

namespace fs = std::filesystem;

// Entries as the journal holds them: JSON lines, read as load_journal does.
Entry line(const json& j) {
  auto e = entry_from_json(j, "test entry");
  EXPECT_TRUE(e.ok()) << e.error().message;
  return e.ok() ? *e : Entry{};
}

Entry note(const std::string& at, const std::string& text, const std::string& tag = "",
           int redacted = 0) {
  json e = {{"v", 1},   {"kind", "note"}, {"ts", at},
            {"at", at}, {"text", text},   {"redacted", redacted}};
  if (!tag.empty()) e["tag"] = tag;
  return line(e);
}

Entry command(const std::string& at, std::vector<std::string> argv, const std::string& host,
              const std::string& summary, int exit, std::vector<std::string> figures = {},
              json artifacts = json::array(), int redacted = 0) {
  return line({{"v", 1},
               {"kind", "command"},
               {"ts", at},
               {"at", at},
               {"argv", argv},
               {"command", argv.size() > 1 ? argv[1] : ""},
               {"target", argv.size() > 2 ? argv[2] : ""},
               {"host", host},
               {"duration_ms", 1200},
               {"exit", exit},
               {"summary", summary},
               {"figures", figures},
               {"ops", json::array()},
               {"artifacts", artifacts},
               {"redacted", redacted}});
}

ReportInput base_input() {
  ReportInput in;
  in.info = {"checkout-502", "Checkout returns 502", "2026-11-25T14:00:00Z", "", "/nonexistent"};
  return in;
}

// The text of one Markdown section: from its "## Title" to the next "## ".
std::string md_section(const std::string& doc, const std::string& title) {
  auto b = doc.find("\n## " + title + "\n");
  if (b == std::string::npos) return "<no section " + title + ">";
  auto e = doc.find("\n## ", b + 1);
  return doc.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

std::string html_section(const std::string& doc, const std::string& id) {
  auto b = doc.find("<section id=\"" + id + "\">");
  if (b == std::string::npos) return "<no section " + id + ">";
  auto e = doc.find("</section>", b);
  return doc.substr(b, e - b);
}

ReportInput full_input() {
  ReportInput in = base_input();
  in.entries = {
      command("2026-11-25T14:05:00Z", {"sonde", "trace", "web1", "-c", "-p", "4242"},
              "web1.example", "412 syscalls, 12 errors", 0,
              {"futex 1203 calls, 12 errors (EAGAIN)"}),
      note("2026-11-25T13:50:00Z", "Pager: checkout 502 rate above 5%", "impact"),
      note("2026-11-25T13:55:00Z", "customers report slow checkout"),
      command("2026-11-25T14:10:00Z", {"sonde", "connect", "db1", "10.0.0.9:5432"}, "db1",
              "refused by 10.0.0.9:5432", 1, {"10.0.0.9:5432 refused (RST) in 0.4 ms"}),
      note("2026-11-25T14:20:00Z", "pool size 10 too small for the new worker count", "cause"),
      note("2026-11-25T14:25:00Z", "raised pool to 50", "mitigation"),
      note("2026-11-25T14:40:00Z", "pool size derived from worker count", "fix"),
      note("2026-11-25T14:45:00Z", "alert on pool saturation", "prevention"),
      note("2026-11-25T14:07:00Z", "gc pauses look normal", "observation"),
  };
  return in;
}

TEST(CaseReport, MarkdownPutsEachEntryInItsSection) {
  std::string md = render_markdown(full_input());
  EXPECT_NE(md.find("# Post-mortem: Checkout returns 502"), std::string::npos) << md;

  std::string summary = md_section(md, "Summary");
  // The lead is the impact note, then the cause note.
  EXPECT_NE(summary.find("Pager: checkout 502 rate above 5%"), std::string::npos) << summary;
  EXPECT_NE(summary.find("pool size 10 too small"), std::string::npos) << summary;
  EXPECT_LT(summary.find("Pager:"), summary.find("pool size 10"));
  EXPECT_NE(summary.find("web1.example, db1"), std::string::npos) << summary;
  EXPECT_NE(summary.find("2 commands (1 failed), 7 notes"), std::string::npos) << summary;
  EXPECT_NE(summary.find("2026-11-25 13:50:00 – 2026-11-25 14:45:00 UTC (55 min)"),
            std::string::npos)
      << summary;
  EXPECT_EQ(summary.find("What happened, in two sentences"), std::string::npos);

  std::string seen = md_section(md, "What we saw");
  EXPECT_NE(seen.find("### web1.example"), std::string::npos) << seen;
  EXPECT_NE(seen.find("### db1"), std::string::npos) << seen;
  EXPECT_NE(seen.find("`sonde trace web1 -c -p 4242`"), std::string::npos) << seen;
  EXPECT_NE(seen.find("  - futex 1203 calls, 12 errors (EAGAIN)"), std::string::npos) << seen;
  EXPECT_NE(seen.find("refused (RST)"), std::string::npos) << seen;
  EXPECT_NE(seen.find("**failed**, exit 1"), std::string::npos) << seen;
  EXPECT_NE(seen.find("gc pauses look normal"), std::string::npos) << seen;
  EXPECT_NE(seen.find("customers report slow checkout"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("raised pool"), std::string::npos) << seen;

  EXPECT_NE(md_section(md, "Why it happened").find("pool size 10 too small"), std::string::npos);
  EXPECT_NE(md_section(md, "Impact").find("Pager: checkout"), std::string::npos);
  std::string mit = md_section(md, "Mitigation and fix");
  EXPECT_NE(mit.find("note (mitigation): raised pool to 50"), std::string::npos) << mit;
  EXPECT_NE(mit.find("note (fix): pool size derived"), std::string::npos) << mit;
  EXPECT_NE(md_section(md, "How we prevent a repeat").find("alert on pool saturation"),
            std::string::npos);
  // Found out: the notes before the first command, then the first commands.
  std::string found = md_section(md, "How we found out");
  EXPECT_NE(found.find("Pager: checkout"), std::string::npos) << found;
  EXPECT_NE(found.find("customers report slow checkout"), std::string::npos) << found;
  EXPECT_NE(found.find("`sonde trace web1 -c -p 4242`"), std::string::npos) << found;
  EXPECT_EQ(found.find("gc pauses"), std::string::npos) << found;  // after the first command

  // No section is a prompt when it has content.
  for (const char* p : {"_What happened", "_Why did it happen", "_Who and what was affected",
                        "_What stopped the damage", "_What will stop this"})
    EXPECT_EQ(md.find(p), std::string::npos) << p;
}

TEST(CaseReport, TimelineIsSortedByWhenItHappened) {
  std::string md = render_markdown(full_input());
  std::string tl = md_section(md, "Timeline");
  const char* order[] = {"Pager: checkout", "customers report",  "sonde trace web1",
                         "gc pauses",       "sonde connect db1", "pool size 10",
                         "raised pool",     "pool size derived", "alert on pool"};
  size_t last = 0;
  for (const char* s : order) {
    size_t at = tl.find(s);
    ASSERT_NE(at, std::string::npos) << s << "\n" << tl;
    EXPECT_GT(at, last) << s << " out of order\n" << tl;
    last = at;
  }
  EXPECT_NE(tl.find("| 2026-11-25 14:10:00 | db1 | `sonde connect db1 10.0.0.9:5432` | "
                    "refused by 10.0.0.9:5432 · exit 1 |"),
            std::string::npos)
      << tl;
  // A fractional second sorts by time, not by spelling ("00.5Z" < "00Z" as text).
  ReportInput in = base_input();
  in.entries = {note("2026-11-25T14:00:00.500Z", "second"), note("2026-11-25T14:00:00Z", "first")};
  std::string t2 = md_section(render_markdown(in), "Timeline");
  EXPECT_LT(t2.find("first"), t2.find("second")) << t2;
}

TEST(CaseReport, EmptySectionsArePrompts) {
  ReportInput in = base_input();
  std::string md = render_markdown(in);
  EXPECT_NE(md_section(md, "Summary").find("_What happened, in two sentences._"), std::string::npos)
      << md;
  EXPECT_NE(md_section(md, "Timeline").find("_Nothing recorded yet"), std::string::npos);
  EXPECT_NE(md_section(md, "What we saw").find("_What did the commands show?"), std::string::npos);
  EXPECT_NE(md_section(md, "Why it happened").find("_Why did it happen?"), std::string::npos);
  EXPECT_NE(md_section(md, "Impact").find("_Who and what was affected"), std::string::npos);
  EXPECT_NE(md_section(md, "How we found out").find("_How did we find out"), std::string::npos);
  EXPECT_NE(md_section(md, "Mitigation and fix").find("_What stopped the damage"),
            std::string::npos);
  EXPECT_NE(md_section(md, "How we prevent a repeat").find("_What will stop this"),
            std::string::npos);

  std::string html = render_html(in);
  for (const char* id :
       {"summary", "timeline", "seen", "why", "impact", "found", "mitigation", "prevention"})
    EXPECT_NE(html_section(html, id).find("<p class=\"prompt\">"), std::string::npos) << id;
  EXPECT_NE(html.find("still open"), std::string::npos);
}

TEST(CaseReport, HostileTextIsEscaped) {
  ReportInput in = base_input();
  in.info.title = "<b>title</b>";
  in.entries = {
      command("2026-11-25T14:05:00Z", {"sonde", "trace", "web1", "-e", "trace=read|write"}, "web1",
              "<script>alert(1)</script> a|b `code` & more", 0,
              {"# not a heading", "- not a list", "1. not a list"}),
      note("2026-11-25T14:06:00Z", "<img src=x onerror=alert(1)>\nline two | `x`", "cause"),
      note("2026-11-25T14:07:00Z", "bell\x07 and escape\x1b[31m"),
  };
  std::string md = render_markdown(in);
  EXPECT_EQ(md.find("<script>"), std::string::npos) << md;
  EXPECT_NE(md.find("\\<img src=x onerror=alert(1)\\>"), std::string::npos) << md;
  // The only raw '<' is the line break the timeline puts into a table cell.
  for (size_t i = md.find('<'); i != std::string::npos; i = md.find('<', i + 1))
    EXPECT_TRUE(md[i - 1] == '\\' || md.compare(i, 4, "<br>") == 0) << md.substr(i, 20);
  EXPECT_NE(md.find("\\<script\\>alert(1)\\</script\\> a\\|b \\`code\\` \\& more"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("# Post-mortem: \\<b\\>title\\</b\\>\n"), std::string::npos) << md;
  // Figures: leading markup is escaped.
  EXPECT_NE(md.find("  - \\# not a heading"), std::string::npos) << md;
  EXPECT_NE(md.find("  - \\- not a list"), std::string::npos) << md;
  EXPECT_NE(md.find("  - 1\\. not a list"), std::string::npos) << md;
  // A '|' in a command inside the timeline table is escaped for GFM.
  EXPECT_NE(md_section(md, "Timeline").find("`sonde trace web1 -e 'trace=read\\|write'`"),
            std::string::npos)
      << md_section(md, "Timeline");
  // Every timeline row has exactly 5 unescaped '|' (4 cells).
  std::string tl = md_section(md, "Timeline");
  size_t pos = tl.find("| 2026");
  while (pos != std::string::npos) {
    size_t end = tl.find('\n', pos);
    std::string row = tl.substr(pos, end - pos);
    int bars = 0;
    for (size_t i = 0; i < row.size(); ++i)
      if (row[i] == '|' && (i == 0 || row[i - 1] != '\\')) ++bars;
    EXPECT_EQ(bars, 5) << row;
    pos = tl.find("| 2026", end);
  }
  // Control characters never reach the document.
  EXPECT_EQ(md.find('\x07'), std::string::npos);
  EXPECT_EQ(md.find('\x1b'), std::string::npos);

  std::string html = render_html(in);
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_EQ(html.find("<img src=x"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt; a|b `code` &amp; more"),
            std::string::npos);
  EXPECT_NE(html.find("<title>Post-mortem: &lt;b&gt;title&lt;/b&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;\nline two"), std::string::npos);
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
}

TEST(CaseReport, SaysWhatWasRedacted) {
  ReportInput in = base_input();
  in.entries = {note("2026-11-25T14:00:00Z", "nothing secret")};
  EXPECT_EQ(render_markdown(in).find("were masked"), std::string::npos);
  in.entries.push_back(command("2026-11-25T14:01:00Z", {"sonde", "inspect", "web1", "--env"},
                               "web1", "env of 4242", 0, {}, json::array(), 2));
  in.entries.push_back(note("2026-11-25T14:02:00Z", "token ***", "observation", 1));
  const char* want =
      "Secrets in 3 places were masked when recorded (sonde --no-redact keeps them).";
  std::string md = render_markdown(in);
  EXPECT_NE(md_section(md, "Summary").find(want), std::string::npos) << md;
  EXPECT_NE(render_html(in).find(want), std::string::npos);
  EXPECT_EQ(render_json(in)["redacted"], 3);
}

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/sonde-report-test-XXXXXX";
    path_ = mkdtemp(t);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(CaseReport, ArtifactsAreLinkedAndSvgsEmbeddedAsImages) {
  TempDir dir;
  fs::create_directories(dir.path() + "/artifacts");
  std::ofstream(dir.path() + "/artifacts/0002-profile.svg")
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">"
         "<script>alert(1)</script><rect width=\"10\" height=\"10\" fill=\"red\"/></svg>";
  std::ofstream(dir.path() + "/artifacts/0003-capture.pcap") << "pcap";
  ReportInput in = base_input();
  in.info.dir = dir.path();
  json arts = {{{"path", "artifacts/0002-profile.svg"}, {"kind", "svg"}, {"bytes", 160}},
               {{"path", "artifacts/0003-capture.pcap"}, {"kind", "pcap"}, {"bytes", 4}},
               {{"path", "../../etc/passwd"}, {"kind", "other"}}};
  in.entries = {command("2026-11-25T14:05:00Z", {"sonde", "profile", "web1", "-p", "42"}, "web1",
                        "99 samples", 0, {"hot: parse_request 41%"}, arts)};

  std::string md = render_markdown(in);
  EXPECT_NE(md.find("[artifacts/0002-profile.svg (160 B)](artifacts/0002-profile.svg)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("![artifacts/0002-profile.svg](artifacts/0002-profile.svg)"), std::string::npos)
      << md;
  EXPECT_NE(md.find("](artifacts/0003-capture.pcap)"), std::string::npos);
  EXPECT_EQ(md.find("](../../etc/passwd)"), std::string::npos);
  EXPECT_NE(md.find("outside the case directory"), std::string::npos);

  std::string html = render_html(in);
  // The SVG (with its script) only as a data: image, never inline markup.
  EXPECT_NE(html.find("<img src=\"data:image/svg+xml;base64,PHN2ZyB4bWxucz0i"), std::string::npos)
      << html;
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"artifacts/0002-profile.svg\">"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"artifacts/0003-capture.pcap\">"), std::string::npos);
  EXPECT_EQ(html.find("etc/passwd\""), std::string::npos);

  // Written elsewhere: links go through the relative path to the case dir.
  in.artifact_base = artifact_base(dir.path(), "/tmp/elsewhere/reports");
  in.report_elsewhere = true;
  std::string name = fs::path(dir.path()).filename().string();
  EXPECT_EQ(in.artifact_base, "../../" + name);
  md = render_markdown(in);
  EXPECT_NE(md.find("](../../" + name + "/artifacts/0002-profile.svg)"), std::string::npos) << md;
  EXPECT_NE(md.find("**Artifacts:** links lead to the case directory"), std::string::npos) << md;
  // The embedded image still comes from the case directory itself.
  EXPECT_NE(render_html(in).find("data:image/svg+xml;base64,"), std::string::npos);
}

TEST(CaseReport, ArtifactBase) {
  EXPECT_EQ(artifact_base("/h/cases/x", "/h/cases/x"), "");
  EXPECT_EQ(artifact_base("/h/cases/x", "/h/cases/x/"), "");
  EXPECT_EQ(artifact_base("/h/cases/x", "/h/cases"), "x");
  EXPECT_EQ(artifact_base("/h/cases/x", "/tmp"), "../h/cases/x");
}

TEST(CaseReport, ReportFormatFromName) {
  EXPECT_EQ(*report_format_for("r.md"), ReportFormat::kMarkdown);
  EXPECT_EQ(*report_format_for("a/b/r.MARKDOWN"), ReportFormat::kMarkdown);
  EXPECT_EQ(*report_format_for("r.html"), ReportFormat::kHtml);
  EXPECT_EQ(*report_format_for("r.htm"), ReportFormat::kHtml);
  auto bad = report_format_for("r.pdf");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::kBadArgs);
  EXPECT_NE(bad.error().hint.find(".html"), std::string::npos);
}

TEST(CaseReport, JournalWarningsAreShown) {
  ReportInput in = base_input();
  in.entries = {note("2026-11-25T14:00:00Z", "x")};
  in.warnings = {"journal.jsonl line 7: truncated (no newline at the end); skipped"};
  std::string md = render_markdown(in);
  EXPECT_NE(md_section(md, "Summary").find("> - journal.jsonl line 7: truncated"),
            std::string::npos)
      << md;
  std::string html = render_html(in);
  EXPECT_NE(html_section(html, "summary").find("<li>journal.jsonl line 7: truncated"),
            std::string::npos)
      << html;
  EXPECT_EQ(render_json(in)["warnings"].size(), 1u);
}

TEST(CaseReport, HtmlIsOneSelfContainedDocument) {
  std::string html = render_html(full_input());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">", 0),
            0u);
  EXPECT_NE(html.find("@media print"), std::string::npos);
  EXPECT_NE(html.find("break-inside: avoid"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  // The same entries land in the same sections as in Markdown.
  EXPECT_NE(html_section(html, "why").find("pool size 10 too small"), std::string::npos);
  EXPECT_NE(html_section(html, "impact").find("Pager: checkout"), std::string::npos);
  EXPECT_NE(html_section(html, "mitigation").find("raised pool to 50"), std::string::npos);
  EXPECT_NE(html_section(html, "mitigation").find("pool size derived"), std::string::npos);
  EXPECT_NE(html_section(html, "prevention").find("alert on pool saturation"), std::string::npos);
  std::string seen = html_section(html, "seen");
  EXPECT_NE(seen.find("<h3>web1.example</h3>"), std::string::npos);
  EXPECT_NE(seen.find("<li>futex 1203 calls, 12 errors (EAGAIN)</li>"), std::string::npos);
  EXPECT_NE(seen.find("gc pauses look normal"), std::string::npos);
  EXPECT_EQ(seen.find("raised pool"), std::string::npos);
}

TEST(CaseReport, JsonHasTheSections) {
  json j = render_json(full_input());
  EXPECT_EQ(j["case"]["name"], "checkout-502");
  EXPECT_EQ(j["sections"]["timeline"].size(), 9u);
  EXPECT_EQ(j["sections"]["why"].size(), 1u);
  EXPECT_EQ(j["sections"]["mitigation"].size(), 2u);
  EXPECT_EQ(j["sections"]["seen"].size(), 4u);  // 2 commands, 1 observation, 1 untagged note
  EXPECT_EQ(j["sections"]["timeline"][0]["at"], "2026-11-25T13:50:00Z");
}

// Artifacts are copied as they are: redaction never sees inside a capture,
// a JFR recording or a log. The report says which ones, in the summary and
// beside each link; flame graphs (symbol names only) are not flagged.
TEST(CaseReport, UnredactedArtifactsAreListedWithAWarning) {
  ReportInput in = base_input();
  json arts = {{{"path", "artifacts/0002-profile.svg"}, {"kind", "svg"}, {"bytes", 160}},
               {{"path", "artifacts/0003-capture.pcap"}, {"kind", "pcap"}, {"bytes", 4}},
               {{"path", "artifacts/0004-app.jfr"}, {"kind", "jfr"}, {"bytes", 2048}},
               {{"path", "artifacts/0005-trace.log"}, {"kind", "log"}, {"bytes", 10}}};
  in.entries = {command("2026-11-25T14:05:00Z", {"sonde", "capture", "web1"}, "web1", "3 flows", 0,
                        {}, arts)};

  std::string md = render_markdown(in);
  std::string summary = md_section(md, "Summary");
  EXPECT_NE(summary.find("> **Not redacted:** 3 artifacts are copied as recorded, not redacted, "
                         "and may hold secrets"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("> - artifacts/0003-capture.pcap (packet capture, 4 B)"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("> - artifacts/0004-app.jfr (JFR recording, 2.0 KiB)"), std::string::npos)
      << summary;
  EXPECT_NE(summary.find("> - artifacts/0005-trace.log (log, 10 B)"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("0002-profile.svg"), std::string::npos) << summary;
  // Beside each link too.
  EXPECT_NE(md.find("(artifacts/0003-capture.pcap) — **not redacted: may hold secrets"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("(artifacts/0002-profile.svg) — **not redacted"), std::string::npos) << md;

  std::string html = render_html(in);
  EXPECT_NE(html.find("<div class=\"warn\" id=\"unredacted\"><p><b>Not redacted:</b> 3 "
                      "artifacts"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<li>artifacts/0004-app.jfr (JFR recording, 2.0 KiB)</li>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("0003-capture.pcap (4 B)</a> <b class=\"fail\">not redacted"),
            std::string::npos)
      << html;

  json j = render_json(in);
  ASSERT_EQ(j["unredacted_artifacts"].size(), 3u) << j.dump(1);
  EXPECT_EQ(j["unredacted_artifacts"][0]["path"], "artifacts/0003-capture.pcap");
  EXPECT_EQ(j["sections"]["timeline"][0]["artifacts"][0]["redacted"], true);
  EXPECT_EQ(j["sections"]["timeline"][0]["artifacts"][1]["redacted"], false);

  // Nothing to warn about: no notice.
  in.entries = {command("2026-11-25T14:05:00Z", {"sonde", "profile", "web1"}, "web1", "ok", 0, {},
                        json::array({arts[0]}))};
  EXPECT_EQ(render_markdown(in).find("Not redacted"), std::string::npos);
  EXPECT_EQ(render_html(in).find("id=\"unredacted\""), std::string::npos);
}

}  // namespace
}  // namespace sonde::controller::casefile
