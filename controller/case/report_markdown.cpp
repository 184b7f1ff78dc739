// The report as GitHub/GitLab-flavoured Markdown: every string is escaped
// so that it shows as the text it is, never as markup.
#include <algorithm>
#include <cctype>
#include <cstring>

#include <fmt/format.h>

#include "report_model.h"
#include "sonde/common/markup.h"

namespace sonde::controller::casefile {

using namespace report_model;

namespace {

// One line of text as Markdown that shows exactly that text: punctuation that
// could start markup is backslash-escaped, wherever it is.
std::string md(const std::string& raw) {
  std::string s = clean_text(raw);
  std::string out;
  size_t lead = s.find_first_not_of(" \t");
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\n' || c == '\t') {
      out += ' ';
      continue;
    }
    bool special = std::strchr("\\`*_[]<>|~&#!", c) != nullptr;
    // Block starters at the start of the line: "- ", "+ ", "= ", "1. ".
    if (i == lead && std::strchr("-+=", c)) special = true;
    if ((c == '.' || c == ')') && i > lead && lead != std::string::npos &&
        (i + 1 == s.size() || s[i + 1] == ' ' || s[i + 1] == '\t') &&
        std::all_of(s.begin() + lead, s.begin() + i,
                    [](char d) { return std::isdigit(static_cast<unsigned char>(d)); }))
      special = true;
    if (special) out += '\\';
    out += c;
  }
  return out;
}

// Text as an inline code span: the fence is longer than any backtick run in it.
std::string md_code(const std::string& raw, bool in_table = false) {
  std::string s = clean_text(raw);
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\t', ' ');
  size_t run = 0, longest = 0;
  for (char c : s) longest = std::max(longest, run = c == '`' ? run + 1 : 0);
  std::string fence(longest + 1, '`');
  bool pad = !s.empty() && (s.front() == '`' || s.back() == '`');
  if (in_table) {
    // GFM splits table cells at '|' before it sees code spans.
    std::string t;
    for (char c : s) t += c == '|' ? std::string("\\|") : std::string(1, c);
    s = t;
  }
  return fence + (pad ? " " : "") + s + (pad ? " " : "") + fence;
}

// Multi-line text as the body of a list item ("- " already written).
std::string md_block(const std::string& text, const std::string& indent) {
  std::string out;
  bool first = true;
  for (const auto& l : lines_of(text)) {
    // A trailing backslash is a hard break: the note keeps its own lines.
    if (!first) out += "\\\n" + indent;
    out += md(l);
    first = false;
  }
  return out;
}

std::string md_prompt(const std::string& p) {
  return "_" + md(p) + "_\n";
}

void md_artifacts(std::string& o, const ReportInput& in, const View& v, const std::string& ind) {
  for (const auto& a : v.artifacts) {
    std::string p = safe_artifact_path(a.path);
    std::string label = md(a.path) + (a.bytes >= 0 ? " (" + bytes_text(a.bytes) + ")" : "");
    if (p.empty()) {
      o += ind + "- artifact: " + label + " (outside the case directory; not linked)" +
           (unredacted(a) ? std::string(" — **") + kRawWarning + "**" : "") + "\n";
      continue;
    }
    o += ind + "- artifact: [" + label + "](" + link_target(in, p) + ")" +
         (unredacted(a) ? std::string(" — **") + kRawWarning + "**" : "") + "\n";
    if (a.kind == "svg" || p.ends_with(".svg"))
      o += "\n" + ind + "  ![" + md(p) + "](" + link_target(in, p) + ")\n\n";
  }
}

void md_note(std::string& o, const View& v, bool label) {
  o += "- **" + md(v.when()) + "** " + (label ? md(note_label(v)) + ": " : "") +
       md_block(v.line, "  ") + "\n";
}

void md_command(std::string& o, const ReportInput& in, const View& v, bool detail) {
  o += "- **" + md(v.when()) + "** " + md_code(v.line);
  if (!v.summary.empty()) o += " — " + md(v.summary);
  if (v.failed()) o += fmt::format(" (**failed**, exit {})", *v.exit);
  o += "\n";
  if (!detail) return;
  for (const auto& f : v.figures) o += "  - " + md(f) + "\n";
  for (const auto& c : clock_lines(v)) o += "  - " + md(c) + "\n";
  // A fleet run's merged table, as it printed: a fenced block in the item,
  // the fence longer than any backtick run in it.
  if (!v.merged.empty()) {
    size_t longest = 0, run = 0;
    for (char c : v.merged) {
      run = c == '`' ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    std::string fence(std::max<size_t>(3, longest + 1), '`');
    o += "\n  " + fence + "\n";
    for (const auto& l : lines_of(v.merged)) o += "  " + l + "\n";
    o += "  " + fence + "\n\n";
  }
  md_artifacts(o, in, v, "  ");
}

}  // namespace

std::string render_markdown(const ReportInput& in) {
  Model m = build(in);
  std::string o;
  std::string title = m.info.title.empty() ? m.info.name : m.info.title;
  o += "# Post-mortem: " + md(title) + "\n\n";
  o += "Case " + md_code(m.info.name);
  if (!m.info.created.empty()) o += " · opened " + md(m.info.created);
  o += m.info.closed.empty() ? " · still open" : " · closed " + md(m.info.closed);
  if (!in.generated.empty()) o += " · report made " + md(in.generated);
  o += "\n\n";

  o += "## Summary\n\n";
  if (m.lead.empty()) {
    o += md_prompt("What happened, in two sentences.") + "\n";
  } else {
    // One paragraph each: Markdown would run consecutive lines together.
    for (const auto& l : m.lead) o += md(l) + "\n\n";
  }
  if (auto s = span_text(m); !s.empty()) o += "- **When:** " + md(s) + "\n";
  if (auto h = hosts_text(m); !h.empty()) o += "- **Hosts:** " + md(h) + "\n";
  o += "- **Recorded:** " + md(counts_text(m)) + "\n";
  if (auto r = redaction_notice(m); !r.empty()) o += "- **Redacted:** " + md(r) + "\n";
  if (auto a = artifacts_note(in, m); !a.empty()) o += "- **Artifacts:** " + md(a) + "\n";
  o += "\n";
  if (auto r = raw_notice(m); !r.empty()) {
    o += "> **Not redacted:** " + md(r) + "\n>\n";
    for (const auto& a : m.raw) o += "> - " + md(raw_label(a)) + "\n";
    o += "\n";
  }
  if (!m.warnings.empty()) {
    o += "> **The journal had problems; the report shows every entry that loaded:**\n>\n";
    for (const auto& w : m.warnings) o += "> - " + md(w) + "\n";
    o += "\n";
  }

  o += "## Timeline\n\n";
  if (m.views.empty()) {
    o += md_prompt(
             "Nothing recorded yet: run sonde commands while the case is active, "
             "or add what you know with sonde case note --at TIME.") +
         "\n";
  } else {
    o += "| Time (UTC) | Host | What | Result |\n|---|---|---|---|\n";
    for (const View& v : m.views) {
      std::string what;
      if (v.kind == "command") {
        what = md_code(v.line, true);
      } else {
        std::string text;
        for (const auto& l : lines_of(v.line)) text += (text.empty() ? "" : "<br>") + md(l);
        what = (v.kind == "note" ? "*" + md(note_label(v)) + "*: " : "") + text;
      }
      o += "| " + md(v.when()) + " | " + md(v.host.empty() ? "—" : v.host) + " | " + what + " | " +
           md(result_text(v)) + " |\n";
    }
    o += "\n";
  }

  o += "## What we saw\n\n";
  if (m.seen_by_host.empty() && m.observations.empty()) {
    o += md_prompt(
             "What did the commands show? Run them with the case active, or add "
             "sonde case note --tag observation.") +
         "\n";
  }
  for (const auto& [host, views] : m.seen_by_host) {
    o += "### " + md(host) + "\n\n";
    for (const View* v : views) md_command(o, in, *v, true);
    o += "\n";
  }
  if (!m.observations.empty()) {
    o += "### Observations\n\n";
    for (const View* v : m.observations) md_note(o, *v, false);
    o += "\n";
  }

  for (const Section& s : m.sections) {
    o += "## " + s.title + "\n\n";
    bool any_note = false;
    for (const View* v : s.items) {
      if (v->kind == "command") {
        md_command(o, in, *v, false);
      } else {
        any_note = true;
        md_note(o, *v, s.id == "mitigation" || s.id == "found");
      }
    }
    if (!s.items.empty()) o += "\n";
    // "How we found out" lists the first commands even when nobody wrote down
    // what set them off: that part is still a question.
    if (s.items.empty() || (s.id == "found" && !any_note)) o += md_prompt(s.prompt) + "\n";
  }
  return o;
}

}  // namespace sonde::controller::casefile
