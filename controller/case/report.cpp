// The post-mortem report: the journal's entries sorted by when they happened,
// laid into the sections of a post-mortem, then written as Markdown, HTML or
// JSON. Everything in an entry came from a target or a person's typing, so
// every string is escaped for the format it lands in.
#include "report.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "sonde/common/json_text.h"

namespace sonde::controller::casefile {
namespace {

namespace fs = std::filesystem;

// An SVG larger than this is linked, not embedded.
constexpr uintmax_t kMaxEmbedBytes = 16u << 20;
// "How we found out" shows this many of the first commands.
constexpr size_t kFirstCommands = 3;

// ---- reading entries tolerantly: a journal may come from another version ----

std::string str(const json& e, const char* key) {
  auto it = e.find(key);
  if (it == e.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::optional<long long> integer(const json& e, const char* key) {
  auto it = e.find(key);
  if (it == e.end() || !it->is_number()) return std::nullopt;
  return it->get<long long>();
}

// "2026-11-25T14:02:00Z", "...00.123Z", "...00+02:00" → epoch milliseconds.
std::optional<long long> parse_utc_ms(const std::string& s) {
  int y, mo, d, h, mi, sec, n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  long long ms = static_cast<long long>(timegm(&tm)) * 1000;
  size_t i = n;
  if (i < s.size() && s[i] == '.') {
    long long scale = 100;
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      ms += (s[i] - '0') * scale;
      scale /= 10;
    }
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) >= 1)
      ms -= (s[i] == '+' ? 1 : -1) * (oh * 3600LL + om * 60LL) * 1000;
  }
  return ms;
}

std::string format_utc(long long ms, const char* fmt = "%Y-%m-%d %H:%M:%S") {
  std::time_t t = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

std::string format_span(long long ms) {
  long long s = ms / 1000;
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min", s / 60);
  if (s < 86400) return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
  return fmt::format("{} days {} h", s / 86400, (s % 86400) / 3600);
}

// A shell-readable command line: words with spaces or quotes get single quotes.
std::string command_line(const json& argv) {
  std::string out;
  for (const auto& a : argv) {
    std::string w = a.is_string() ? a.get<std::string>() : json_text(a);
    bool plain = !w.empty() && std::all_of(w.begin(), w.end(), [](unsigned char c) {
      return std::isalnum(c) || std::strchr("-_./=:,@%+", c);
    });
    if (!plain) {
      std::string q = "'";
      for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
      w = q + "'";
    }
    out += (out.empty() ? "" : " ") + w;
  }
  return out;
}

struct Artifact {
  std::string path, kind;
  long long bytes = -1;
};

// Artifacts are copied byte for byte: redaction never sees inside them.
// Packet captures, JFR recordings, logs and JSON outputs (command lines,
// headers, environment, payloads) can hold secrets; flame graphs, folded
// stacks and profiles hold symbol names.
bool unredacted(const Artifact& a) {
  return a.kind != "svg" && a.kind != "folded" && a.kind != "pprof";
}

std::string kind_name(const std::string& kind) {
  if (kind == "pcap") return "packet capture";
  if (kind == "jfr") return "JFR recording";
  if (kind == "log") return "log";
  if (kind == "json") return "JSON output";
  return "file";
}

constexpr const char* kRawWarning =
    "not redacted: may hold secrets (passwords, tokens, cookies, personal data); check it "
    "before sharing";

// One journal entry, read once.
struct View {
  std::string kind;  // command | note | case
  std::optional<long long> at_ms;
  std::string at_raw;
  std::string host;  // the agent's hostname, else the target as typed
  std::string line;  // the command line, a note's text, a case event
  std::string tag;
  std::string summary;
  std::optional<long long> exit, duration_ms;
  std::vector<std::string> figures;
  std::vector<Artifact> artifacts;
  long long redacted = 0;
  size_t order = 0;  // position in the journal, to keep ties stable

  std::string when() const { return at_ms ? format_utc(*at_ms) : (at_raw.empty() ? "?" : at_raw); }
  std::string hhmm() const { return at_ms ? format_utc(*at_ms, "%H:%M:%S") : when(); }
  bool failed() const { return exit && *exit != 0; }
  std::string first_line() const { return line.substr(0, line.find('\n')); }
};

View read_view(const json& e, size_t order) {
  View v;
  v.order = order;
  v.kind = str(e, "kind");
  v.at_raw = str(e, "at");
  if (v.at_raw.empty()) v.at_raw = str(e, "ts");
  v.at_ms = parse_utc_ms(v.at_raw);
  v.host = str(e, "host");
  if (v.host.empty()) v.host = str(e, "target");
  v.tag = str(e, "tag");
  v.summary = str(e, "summary");
  v.exit = integer(e, "exit");
  v.duration_ms = integer(e, "duration_ms");
  v.redacted = integer(e, "redacted").value_or(0);
  if (v.kind == "command") {
    auto argv = e.find("argv");
    if (argv != e.end() && argv->is_array() && !argv->empty())
      v.line = command_line(*argv);
    else
      v.line =
          "sonde " + str(e, "command") + (str(e, "target").empty() ? "" : " ") + str(e, "target");
    // A failed command may have no summary: its first error says what happened.
    if (v.summary.empty())
      for (const auto& op : e.value("ops", json::array()))
        if (op.is_object() && op.contains("error") && op["error"].is_object()) {
          v.summary = str(op["error"], "message");
          break;
        }
  } else if (v.kind == "note") {
    v.line = str(e, "text");
  } else {
    for (const char* k : {"event", "action", "state", "text"})
      if (!(v.line = str(e, k)).empty()) break;
    if (v.kind == "case" && !v.line.empty()) v.line = "case " + v.line;
  }
  for (const auto& f : e.value("figures", json::array()))
    v.figures.push_back(f.is_string() ? f.get<std::string>() : json_text(f));
  for (const auto& a : e.value("artifacts", json::array())) {
    if (!a.is_object()) continue;
    Artifact art{str(a, "path"), str(a, "kind"), integer(a, "bytes").value_or(-1)};
    if (!art.path.empty()) v.artifacts.push_back(art);
  }
  return v;
}

// ---- the report's model: entries laid into sections ----

struct Section {
  std::string id, title, prompt;
  std::vector<const View*> items;
};

struct Model {
  CaseInfo info;
  std::vector<View> views;  // sorted by at
  std::vector<std::string> lead;
  std::vector<std::string> hosts;
  size_t commands = 0, failed = 0, notes = 0, artifacts = 0;
  long long redacted = 0;
  std::vector<Artifact> raw;  // the unredacted artifacts, in timeline order
  std::optional<long long> first_ms, last_ms;
  std::vector<std::string> warnings;
  // "What we saw": commands by host (first appearance order), then notes.
  std::vector<std::pair<std::string, std::vector<const View*>>> seen_by_host;
  std::vector<const View*> observations;
  std::vector<Section> sections;  // the prose sections after "What we saw"
};

bool is_observation(const View& v) {
  return v.kind == "note" && (v.tag.empty() || v.tag == "observation");
}

Model build(const ReportInput& in) {
  Model m;
  m.info = in.info;
  m.warnings = in.warnings;
  for (size_t i = 0; i < in.entries.size(); ++i) {
    if (!in.entries[i].is_object()) {
      m.warnings.push_back(fmt::format("journal entry {} is not an object; skipped", i + 1));
      continue;
    }
    m.views.push_back(read_view(in.entries[i], i));
  }
  // Entries without a readable time go last, in journal order.
  std::stable_sort(m.views.begin(), m.views.end(), [](const View& a, const View& b) {
    if (a.at_ms.has_value() != b.at_ms.has_value()) return a.at_ms.has_value();
    if (a.at_ms && *a.at_ms != *b.at_ms) return *a.at_ms < *b.at_ms;
    return a.order < b.order;
  });

  std::set<std::string> seen_hosts;
  Section why{"why",
              "Why it happened",
              "Why did it happen? The root cause, and what let it through "
              "(sonde case note --tag cause).",
              {}};
  Section impact{"impact",
                 "Impact",
                 "Who and what was affected, how badly, for how long? "
                 "(sonde case note --tag impact)",
                 {}};
  Section found{"found",
                "How we found out",
                "How did we find out: an alert, a customer, a colleague? How long after it began?",
                {}};
  Section fix{"mitigation",
              "Mitigation and fix",
              "What stopped the damage, and what fixed it for good? "
              "(sonde case note --tag mitigation, --tag fix)",
              {}};
  Section prevent{"prevention",
                  "How we prevent a repeat",
                  "What will stop this from happening again, and who owns it? "
                  "(sonde case note --tag prevention)",
                  {}};
  size_t first_cmds = 0;
  bool before_first_command = true;
  for (const View& v : m.views) {
    m.redacted += std::max(0LL, v.redacted);
    if (v.at_ms) {
      if (!m.first_ms) m.first_ms = v.at_ms;
      m.last_ms = std::max(m.last_ms.value_or(*v.at_ms), *v.at_ms);
    }
    m.artifacts += v.artifacts.size();
    for (const auto& a : v.artifacts)
      if (unredacted(a)) m.raw.push_back(a);
    if (v.kind == "command") {
      ++m.commands;
      if (v.failed()) ++m.failed;
      std::string host = v.host.empty() ? "unknown host" : v.host;
      if (!v.host.empty() && seen_hosts.insert(v.host).second) m.hosts.push_back(v.host);
      auto it = std::find_if(m.seen_by_host.begin(), m.seen_by_host.end(),
                             [&](const auto& g) { return g.first == host; });
      if (it == m.seen_by_host.end()) {
        m.seen_by_host.push_back({host, {}});
        it = m.seen_by_host.end() - 1;
      }
      it->second.push_back(&v);
      before_first_command = false;
      if (first_cmds++ < kFirstCommands) found.items.push_back(&v);
    } else if (v.kind == "note") {
      ++m.notes;
      if (before_first_command) found.items.push_back(&v);
      if (is_observation(v)) m.observations.push_back(&v);
      if (v.tag == "cause") why.items.push_back(&v);
      if (v.tag == "impact") impact.items.push_back(&v);
      if (v.tag == "mitigation" || v.tag == "fix") fix.items.push_back(&v);
      if (v.tag == "prevention") prevent.items.push_back(&v);
    }
  }
  // The lead: what the people who were there said it was, impact first.
  for (const char* tag : {"impact", "cause"})
    for (const View& v : m.views)
      if (v.kind == "note" && v.tag == tag && !v.first_line().empty())
        m.lead.push_back(v.first_line());
  m.sections = {std::move(why), std::move(impact), std::move(found), std::move(fix),
                std::move(prevent)};
  return m;
}

std::string redaction_notice(const Model& m) {
  if (m.redacted <= 0) return "";
  return fmt::format(
      "Secrets in {} place{} were masked when recorded (sonde --no-redact keeps them).", m.redacted,
      m.redacted == 1 ? "" : "s");
}

std::string raw_notice(const Model& m) {
  if (m.raw.empty()) return "";
  return fmt::format(
      "{} artifact{} {} copied as recorded, not redacted, and may hold secrets (passwords, "
      "tokens, cookies, personal data): check {} before sharing this report or the case.",
      m.raw.size(), m.raw.size() == 1 ? "" : "s", m.raw.size() == 1 ? "is" : "are",
      m.raw.size() == 1 ? "it" : "them");
}

std::string counts_text(const Model& m) {
  std::string s = fmt::format("{} command{}", m.commands, m.commands == 1 ? "" : "s");
  if (m.failed) s += fmt::format(" ({} failed)", m.failed);
  s += fmt::format(", {} note{}", m.notes, m.notes == 1 ? "" : "s");
  s += fmt::format(", {} artifact{}", m.artifacts, m.artifacts == 1 ? "" : "s");
  return s;
}

std::string span_text(const Model& m) {
  if (!m.first_ms) return "";
  std::string s = format_utc(*m.first_ms);
  if (*m.last_ms != *m.first_ms)
    s += " – " + format_utc(*m.last_ms) + " UTC (" + format_span(*m.last_ms - *m.first_ms) + ")";
  else
    s += " UTC";
  return s;
}

// Where artifact links lead when the report is not in the case directory.
std::string artifacts_note(const ReportInput& in, const Model& m) {
  if (!in.report_elsewhere || m.artifacts == 0) return "";
  if (in.artifact_base.empty()) return "links are relative to the case directory " + m.info.dir;
  return "links lead to the case directory " + m.info.dir + " as " + in.artifact_base +
         "/ from where this report was written";
}

std::string hosts_text(const Model& m) {
  std::string s;
  for (const auto& h : m.hosts) s += (s.empty() ? "" : ", ") + h;
  return s;
}

std::string result_text(const View& v) {
  std::string s = v.summary;
  if (v.exit) s += (s.empty() ? "" : " · ") + fmt::format("exit {}", *v.exit);
  return s;
}

std::string note_label(const View& v) {
  return v.tag.empty() ? "note" : "note (" + v.tag + ")";
}

// An artifact path that stays inside the case directory, else "".
std::string safe_artifact_path(const std::string& p) {
  fs::path rel = fs::path(p).lexically_normal();
  if (rel.empty() || rel.is_absolute()) return "";
  for (const auto& part : rel)
    if (part == "..") return "";
  return rel.string();
}

// Percent-encoded for a link target; '/' stays.
std::string url_path(const std::string& p) {
  std::string out;
  for (unsigned char c : p) {
    if (std::isalnum(c) || std::strchr("-._~/", c))
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string link_target(const ReportInput& in, const std::string& artifact) {
  return url_path(in.artifact_base.empty() ? artifact : in.artifact_base + "/" + artifact);
}

std::string bytes_text(long long b) {
  if (b < 0) return "";
  if (b < 1024) return fmt::format("{} B", b);
  if (b < (1 << 20)) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{:.1f} MiB", b / 1048576.0);
}

std::string raw_label(const Artifact& a) {
  return a.path + " (" + kind_name(a.kind) + (a.bytes >= 0 ? ", " + bytes_text(a.bytes) : "") + ")";
}

// Text from a target or a person, made printable: invalid UTF-8 and control
// characters (but newline and tab) become '?', Unicode non-characters U+FFFD.
std::string clean(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      out += '?';
      ++i;
      continue;
    }
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xc0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (!ok || cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      out += '?';
      ++i;
      continue;
    }
    if ((cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7f && cp <= 0x9f))
      out += '?';
    else if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
      out += "\xef\xbf\xbd";
    else
      out.append(s, i, len);
    i += len;
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string l; std::getline(is, l);) out.push_back(l);
  if (out.empty()) out.push_back("");
  return out;
}

// ---------------------------------- Markdown ----------------------------------

// One line of text as Markdown that shows exactly that text: punctuation that
// could start markup is backslash-escaped, wherever it is.
std::string md(const std::string& raw) {
  std::string s = clean(raw);
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
  std::string s = clean(raw);
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
  md_artifacts(o, in, v, "  ");
}

}  // namespace

std::string artifact_base(const std::string& case_dir, const std::string& report_dir) {
  fs::path rel = fs::path(case_dir).lexically_normal().lexically_relative(
      fs::path(report_dir).lexically_normal());
  std::string s = rel.string();
  if (s == "." || s == "./") return "";
  if (s.empty()) return fs::path(case_dir).lexically_normal().string();  // no common root
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

Result<ReportFormat> report_format_for(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".md" || ext == ".markdown") return ReportFormat::kMarkdown;
  if (ext == ".html" || ext == ".htm") return ReportFormat::kHtml;
  return Error{errc::kBadArgs, fmt::format("cannot tell the report format from `{}`", path),
               "name the file .md (Markdown) or .html (one self-contained page)"};
}

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

// ------------------------------------ HTML ------------------------------------

namespace {

std::string h(const std::string& raw) {
  std::string s = clean(raw), out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

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
  o += "<p class=\"prompt\">" + h(p) + "</p>\n";
}

void html_artifacts(std::string& o, const ReportInput& in, const View& v) {
  for (const auto& a : v.artifacts) {
    std::string p = safe_artifact_path(a.path);
    std::string label = h(a.path) + (a.bytes >= 0 ? " (" + h(bytes_text(a.bytes)) + ")" : "");
    if (p.empty()) {
      o += "<p>artifact: " + label + " (outside the case directory; not linked)" +
           (unredacted(a) ? std::string(" <b class=\"fail\">") + kRawWarning + "</b>" : "") +
           "</p>\n";
      continue;
    }
    std::string href = h(link_target(in, p));
    bool svg = a.kind == "svg" || p.ends_with(".svg");
    std::optional<std::string> data;
    if (svg) data = read_small_file(fs::path(in.info.dir) / p);
    if (data) {
      // As an <img>, the SVG's own script (the flame graph's zoom) does not
      // run and nothing it references is fetched; the link opens it whole.
      o += "<figure><img src=\"data:image/svg+xml;base64," + base64(*data) + "\" alt=\"" + h(p) +
           "\"><figcaption><a href=\"" + href + "\">" + label +
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
  o += "<div class=\"entry note\"><span class=\"when\">" + h(v.when()) + "</span>";
  if (label) o += "<span class=\"tag\">" + h(v.tag.empty() ? "note" : v.tag) + "</span>";
  o += "<div class=\"text\">" + h(v.line) + "</div></div>\n";
}

void html_command(std::string& o, const ReportInput& in, const View& v, bool detail) {
  o += std::string("<div class=\"entry command") + (v.failed() ? " failed" : "") +
       "\"><span class=\"when\">" + h(v.when()) + "</span><code>" + h(v.line) + "</code>";
  if (!v.summary.empty()) o += " — " + h(v.summary);
  if (v.failed()) o += fmt::format(" <span class=\"fail\">failed, exit {}</span>", *v.exit);
  if (detail) {
    if (!v.figures.empty()) {
      o += "<ul>";
      for (const auto& f : v.figures) o += "<li>" + h(f) + "</li>";
      o += "</ul>";
    }
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
  o += "<title>Post-mortem: " + h(title) + "</title>\n<style>" + kCss +
       "</style>\n</head>\n<body>\n";
  o += "<header>\n<h1>Post-mortem: " + h(title) + "</h1>\n<p class=\"meta\">Case <code>" +
       h(m.info.name) + "</code>";
  if (!m.info.created.empty()) o += " · opened " + h(m.info.created);
  o += m.info.closed.empty() ? " · still open" : " · closed " + h(m.info.closed);
  if (!in.generated.empty()) o += " · report made " + h(in.generated);
  o += "</p>\n</header>\n";

  o += "<section id=\"summary\">\n<h2>Summary</h2>\n";
  if (m.lead.empty()) html_prompt(o, "What happened, in two sentences.");
  for (const auto& l : m.lead) o += "<p class=\"lead\">" + h(l) + "</p>\n";
  o += "<ul class=\"facts\">\n";
  if (auto s = span_text(m); !s.empty()) o += "<li><b>When</b> " + h(s) + "</li>\n";
  if (auto hs = hosts_text(m); !hs.empty()) o += "<li><b>Hosts</b> " + h(hs) + "</li>\n";
  o += "<li><b>Recorded</b> " + h(counts_text(m)) + "</li>\n";
  if (auto a = artifacts_note(in, m); !a.empty()) o += "<li><b>Artifacts</b> " + h(a) + "</li>\n";
  o += "</ul>\n";
  if (auto r = redaction_notice(m); !r.empty()) o += "<p class=\"redacted\">" + h(r) + "</p>\n";
  if (auto r = raw_notice(m); !r.empty()) {
    o += "<div class=\"warn\" id=\"unredacted\"><p><b>Not redacted:</b> " + h(r) + "</p><ul>\n";
    for (const auto& a : m.raw) o += "<li>" + h(raw_label(a)) + "</li>\n";
    o += "</ul></div>\n";
  }
  if (!m.warnings.empty()) {
    o += "<div class=\"warn\"><p><b>The journal had problems; the report shows every entry that "
         "loaded:</b></p><ul>\n";
    for (const auto& w : m.warnings) o += "<li>" + h(w) + "</li>\n";
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
      o += std::string("<tr class=\"") + h(v.kind) + (v.failed() ? " failed" : "") +
           "\"><td class=\"time\">" + h(v.when()) + "</td><td>" + h(v.host.empty() ? "—" : v.host) +
           "</td><td>";
      if (v.kind == "command")
        o += "<code>" + h(v.line) + "</code>";
      else if (v.kind == "note")
        o += "<span class=\"tag\">" + h(v.tag.empty() ? "note" : v.tag) +
             "</span><span class=\"text\">" + h(v.line) + "</span>";
      else
        o += "<i>" + h(v.line.empty() ? v.kind : v.line) + "</i>";
      o += "</td><td>" + h(result_text(v)) + "</td></tr>\n";
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
    o += "<h3>" + h(host) + "</h3>\n";
    for (const View* v : views) html_command(o, in, *v, true);
  }
  if (!m.observations.empty()) {
    o += "<h3>Observations</h3>\n";
    for (const View* v : m.observations) html_note(o, *v, false);
  }
  o += "</section>\n";

  for (const Section& s : m.sections) {
    o += "<section id=\"" + h(s.id) + "\">\n<h2>" + h(s.title) + "</h2>\n";
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

// ------------------------------------ JSON ------------------------------------

namespace {

json view_json(const View& v) {
  json j = {{"kind", v.kind},
            {"at", v.at_ms ? format_utc(*v.at_ms, "%Y-%m-%dT%H:%M:%SZ") : v.at_raw}};
  if (!v.host.empty()) j["host"] = v.host;
  if (v.kind == "command") {
    j["command_line"] = v.line;
    j["summary"] = v.summary;
    if (v.exit) j["exit"] = *v.exit;
    j["figures"] = v.figures;
    json arts = json::array();
    for (const auto& a : v.artifacts)
      arts.push_back({{"path", a.path}, {"kind", a.kind}, {"redacted", !unredacted(a)}});
    j["artifacts"] = arts;
  } else {
    j["text"] = v.line;
    if (!v.tag.empty()) j["tag"] = v.tag;
  }
  return j;
}

}  // namespace

json render_json(const ReportInput& in) {
  Model m = build(in);
  json sections = json::object();
  json summary = json::array();
  for (const auto& l : m.lead) summary.push_back(l);
  sections["summary"] = summary;
  json timeline = json::array();
  for (const View& v : m.views) timeline.push_back(view_json(v));
  sections["timeline"] = timeline;
  json seen = json::array();
  for (const auto& [host, views] : m.seen_by_host)
    for (const View* v : views) seen.push_back(view_json(*v));
  for (const View* v : m.observations) seen.push_back(view_json(*v));
  sections["seen"] = seen;
  for (const Section& s : m.sections) {
    json items = json::array();
    for (const View* v : s.items) items.push_back(view_json(*v));
    sections[s.id] = items;
  }
  json c = {{"name", m.info.name},
            {"title", m.info.title},
            {"created", m.info.created},
            {"closed", m.info.closed.empty() ? json(nullptr) : json(m.info.closed)},
            {"dir", m.info.dir},
            {"hosts", m.hosts},
            {"commands", m.commands},
            {"failed", m.failed},
            {"notes", m.notes},
            {"artifacts", m.artifacts}};
  json raw = json::array();
  for (const auto& a : m.raw)
    raw.push_back({{"path", a.path}, {"kind", a.kind}, {"bytes", a.bytes}});
  return {{"case", c},
          {"sections", sections},
          {"warnings", m.warnings},
          {"redacted", m.redacted},
          {"unredacted_artifacts", raw}};
}

}  // namespace sonde::controller::casefile
