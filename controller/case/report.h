// The post-mortem report (`sonde report`): a case's journal laid out as
// Summary, Timeline, What we saw, Why it happened, Impact, How we found out,
// Mitigation and fix, How we prevent a repeat. Notes go to the section their
// tag names, commands to the timeline and "What we saw" with their key
// figures; a section with nothing in it is left as a prompt to fill in.
//
// Pure functions over a case's meta and entries (the journal's schema is in
// journal.h): only render_html reads files, the SVG artifacts it embeds.
#pragma once

#include <string>
#include <vector>

#include "journal.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::controller::casefile {

struct ReportInput {
  CaseInfo info;                      // info.dir: where artifacts/ is
  std::vector<Entry> entries;         // journal lines, any order
  std::vector<std::string> warnings;  // from load_journal, shown in the report
  // Where artifact links start from: the case directory as seen from the
  // directory the report is written to ("" = the report is in the case
  // directory; see artifact_base). Links are this + "/" + artifact path.
  std::string artifact_base;
  // Set when the report is not written inside the case directory (or goes
  // to stdout): the report says where the artifact links point.
  bool report_elsewhere = false;
  std::string generated;  // "2026-11-25T14:02:03Z" when the report was made; "" omits it
};

// The case directory relative to the directory a report file goes to, for
// ReportInput::artifact_base ("" when they are the same). Both absolute.
std::string artifact_base(const std::string& case_dir, const std::string& report_dir);

enum class ReportFormat { kMarkdown, kHtml };
// From the -o name: .md/.markdown or .html/.htm (any case); else kBadArgs.
Result<ReportFormat> report_format_for(const std::string& path);

// GitHub/GitLab-flavoured Markdown. Artifacts are relative links (SVGs also
// as images).
std::string render_markdown(const ReportInput& in);
// One self-contained HTML5 file: inline CSS (with a print stylesheet), no
// scripts, nothing fetched from anywhere. SVG artifacts are embedded as
// <img src="data:image/svg+xml;base64,..."> (an SVG shown as an image runs no
// script and loads nothing), other artifacts are relative links.
std::string render_html(const ReportInput& in);
// {case: {...}, sections: {summary: [...], timeline: [...], ...}, warnings, redacted}
json render_json(const ReportInput& in);

}  // namespace sonde::controller::casefile
