// The report as one self-contained HTML5 file: inline CSS, no scripts, SVG
// artifacts embedded as images. Every string goes through escape_html.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "report_model.h"
#include "sonde/common/markup.h"

namespace sonde::controller::casefile {

using namespace report_model;

namespace fs = std::filesystem;

// An SVG larger than this is linked, not embedded.
constexpr uintmax_t kMaxEmbedBytes = 16u << 20;

namespace {

std::string base64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kAlphabet[(v >> k) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> read_small_file(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  auto size = fs::file_size(p, ec);
  if (ec || size > kMaxEmbedBytes) return std::nullopt;
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (!f.good() && !f.eof()) return std::nullopt;
  return ss.str();
}

constexpr const char* kCss = R"(
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #1d2330; background: #fff; max-width: 62rem; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid #d8dde6; padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin-bottom: .4rem; }
code, .cmd { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em;
  background: #f1f3f7; padding: .05rem .3rem; border-radius: 3px; overflow-wrap: anywhere; }
.meta { color: #5b6475; margin-top: 0; }
.lead { font-size: 1.08rem; }
.facts { list-style: none; padding-left: 0; }
.facts b { display: inline-block; min-width: 7rem; }
.prompt { color: #7a6a2e; background: #fff8e1; border: 1px dashed #e0c468; padding: .5rem .8rem;
  border-radius: 4px; font-style: italic; }
.warn { background: #fdecea; border-left: 4px solid #d93025; padding: .5rem .8rem; }
.redacted { background: #eef4fd; border-left: 4px solid #4a7fd4; padding: .5rem .8rem; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid #e3e7ee; }
th { background: #f6f7f9; }
td.time { white-space: nowrap; }
tr.failed td { background: #fff4f2; }
.entry { border: 1px solid #e3e7ee; border-radius: 6px; padding: .5rem .8rem; margin: .6rem 0; }
.entry.failed { border-color: #f0b4ab; }
.entry .when { color: #5b6475; font-size: .9rem; margin-right: .4rem; }
.entry ul { margin: .3rem 0; }
.tag { display: inline-block; font-size: .75rem; text-transform: uppercase; letter-spacing: .04em;
  background: #e8ebf1; border-radius: 3px; padding: 0 .35rem; margin-right: .3rem; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
pre.merged { font-size: .8rem; overflow-x: auto; background: #f6f8fb; padding: .4rem; margin: .3rem 0; }
figure { margin: .5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e7ee; }
figcaption { font-size: .85rem; color: #5b6475; }
.fail { color: #b3261e; font-weight: 600; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; }
  .entry, tr, figure, .prompt { break-inside: avoid; }
  a { color: inherit; }
  .prompt { background: none; }
}
)";

void html_prompt(std::string& o, const std::string& p) {
  o += "<p class=\"prompt\">" + escape_html(p) + "</p>\n";
}

void html_artifacts(std::string& o, const ReportInput& in, const View& v) {
  for (const auto& a : v.artifacts) {
    std::string p = safe_artifact_path(a.path);
    std::string label =
        escape_html(a.path) + (a.bytes >= 0 ? " (" + escape_html(bytes_text(a.bytes)) + ")" : "");
    if (p.empty()) {
      o += "<p>artifact: " + label + " (outside the case directory; not linked)" +
           (unredacted(a) ? std::string(" <b class=\"fail\">") + kRawWarning + "</b>" : "") +
           "</p>\n";
      continue;
    }
    std::string href = escape_html(link_target(in, p));
    bool svg = a.kind == "svg" || p.ends_with(".svg");
    std::optional<std::string> data;
    if (svg) data = read_small_file(fs::path(in.info.dir) / p);
    if (data) {
      // As an <img>, the SVG's own script (the flame graph's zoom) does not
      // run and nothing it references is fetched; the link opens it whole.
      o += "<figure><img src=\"data:image/svg+xml;base64," + base64(*data) + "\" alt=\"" +
           escape_html(p) + "\"><figcaption><a href=\"" + href + "\">" + label +
           "</a> (open it for the interactive version)</figcaption></figure>\n";
    } else {
      o += "<p>artifact: <a href=\"" + href + "\">" + label + "</a>" +
           (svg ? " (not embedded: missing or too large)" : "") +
           (unredacted(a) ? std::string(" <b class=\"fail\">") + kRawWarning + "</b>" : "") +
           "</p>\n";
    }
  }
}

void html_note(std::string& o, const View& v, bool label) {
  o += "<div class=\"entry note\"><span class=\"when\">" + escape_html(v.when()) + "</span>";
  if (label) o += "<span class=\"tag\">" + escape_html(v.tag.empty() ? "note" : v.tag) + "</span>";
  o += "<div class=\"text\">" + escape_html(v.line) + "</div></div>\n";
}

void html_command(std::string& o, const ReportInput& in, const View& v, bool detail) {
  o += std::string("<div class=\"entry command") + (v.failed() ? " failed" : "") +
       "\"><span class=\"when\">" + escape_html(v.when()) + "</span><code>" + escape_html(v.line) +
       "</code>";
  if (!v.summary.empty()) o += " — " + escape_html(v.summary);
  if (v.failed()) o += fmt::format(" <span class=\"fail\">failed, exit {}</span>", *v.exit);
  if (detail) {
    auto clocks = clock_lines(v);
    if (!v.figures.empty() || !clocks.empty()) {
      o += "<ul>";
      for (const auto& f : v.figures) o += "<li>" + escape_html(f) + "</li>";
      for (const auto& c : clocks) o += "<li class=\"clock\">" + escape_html(c) + "</li>";
      o += "</ul>";
    }
    if (!v.merged.empty()) o += "<pre class=\"merged\">" + escape_html(v.merged) + "</pre>";
    html_artifacts(o, in, v);
  }
  o += "</div>\n";
}

}  // namespace

std::string render_html(const ReportInput& in) {
  Model m = build(in);
  std::string title = m.info.title.empty() ? m.info.name : m.info.title;
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      // Belt and braces: even if something slipped through, the browser may
      // load nothing but the inline style and the embedded images.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; img-src data:\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"sonde report\">\n";
  o += "<title>Post-mortem: " + escape_html(title) + "</title>\n<style>" + kCss +
       "</style>\n</head>\n<body>\n";
  o += "<header>\n<h1>Post-mortem: " + escape_html(title) + "</h1>\n<p class=\"meta\">Case <code>" +
       escape_html(m.info.name) + "</code>";
  if (!m.info.created.empty()) o += " · opened " + escape_html(m.info.created);
  o += m.info.closed.empty() ? " · still open" : " · closed " + escape_html(m.info.closed);
  if (!in.generated.empty()) o += " · report made " + escape_html(in.generated);
  o += "</p>\n</header>\n";

  o += "<section id=\"summary\">\n<h2>Summary</h2>\n";
  if (m.lead.empty()) html_prompt(o, "What happened, in two sentences.");
  for (const auto& l : m.lead) o += "<p class=\"lead\">" + escape_html(l) + "</p>\n";
  o += "<ul class=\"facts\">\n";
  if (auto s = span_text(m); !s.empty()) o += "<li><b>When</b> " + escape_html(s) + "</li>\n";
  if (auto hs = hosts_text(m); !hs.empty()) o += "<li><b>Hosts</b> " + escape_html(hs) + "</li>\n";
  o += "<li><b>Recorded</b> " + escape_html(counts_text(m)) + "</li>\n";
  if (auto a = artifacts_note(in, m); !a.empty())
    o += "<li><b>Artifacts</b> " + escape_html(a) + "</li>\n";
  o += "</ul>\n";
  if (auto r = redaction_notice(m); !r.empty())
    o += "<p class=\"redacted\">" + escape_html(r) + "</p>\n";
  if (auto r = raw_notice(m); !r.empty()) {
    o += "<div class=\"warn\" id=\"unredacted\"><p><b>Not redacted:</b> " + escape_html(r) +
         "</p><ul>\n";
    for (const auto& a : m.raw) o += "<li>" + escape_html(raw_label(a)) + "</li>\n";
    o += "</ul></div>\n";
  }
  if (!m.warnings.empty()) {
    o += "<div class=\"warn\"><p><b>The journal had problems; the report shows every entry that "
         "loaded:</b></p><ul>\n";
    for (const auto& w : m.warnings) o += "<li>" + escape_html(w) + "</li>\n";
    o += "</ul></div>\n";
  }
  o += "</section>\n";

  o += "<section id=\"timeline\">\n<h2>Timeline</h2>\n";
  if (m.views.empty()) {
    html_prompt(o,
                "Nothing recorded yet: run sonde commands while the case is active, or add what "
                "you know with sonde case note --at TIME.");
  } else {
    o += "<table>\n<thead><tr><th>Time (UTC)</th><th>Host</th><th>What</th><th>Result</th></tr>"
         "</thead>\n<tbody>\n";
    for (const View& v : m.views) {
      o += std::string("<tr class=\"") + escape_html(v.kind) + (v.failed() ? " failed" : "") +
           "\"><td class=\"time\">" + escape_html(v.when()) + "</td><td>" +
           escape_html(v.host.empty() ? "—" : v.host) + "</td><td>";
      if (v.kind == "command")
        o += "<code>" + escape_html(v.line) + "</code>";
      else if (v.kind == "note")
        o += "<span class=\"tag\">" + escape_html(v.tag.empty() ? "note" : v.tag) +
             "</span><span class=\"text\">" + escape_html(v.line) + "</span>";
      else
        o += "<i>" + escape_html(v.line.empty() ? v.kind : v.line) + "</i>";
      o += "</td><td>" + escape_html(result_text(v)) + "</td></tr>\n";
    }
    o += "</tbody>\n</table>\n";
  }
  o += "</section>\n";

  o += "<section id=\"seen\">\n<h2>What we saw</h2>\n";
  if (m.seen_by_host.empty() && m.observations.empty())
    html_prompt(o,
                "What did the commands show? Run them with the case active, or add sonde case "
                "note --tag observation.");
  for (const auto& [host, views] : m.seen_by_host) {
    o += "<h3>" + escape_html(host) + "</h3>\n";
    for (const View* v : views) html_command(o, in, *v, true);
  }
  if (!m.observations.empty()) {
    o += "<h3>Observations</h3>\n";
    for (const View* v : m.observations) html_note(o, *v, false);
  }
  o += "</section>\n";

  for (const Section& s : m.sections) {
    o += "<section id=\"" + escape_html(s.id) + "\">\n<h2>" + escape_html(s.title) + "</h2>\n";
    bool any_note = false;
    for (const View* v : s.items) {
      if (v->kind == "command") {
        html_command(o, in, *v, false);
      } else {
        any_note = true;
        html_note(o, *v, s.id == "mitigation" || s.id == "found");
      }
    }
    if (s.items.empty() || (s.id == "found" && !any_note)) html_prompt(o, s.prompt);
    o += "</section>\n";
  }
  o += "</body>\n</html>\n";
  return o;
}

}  // namespace sonde::controller::casefile
