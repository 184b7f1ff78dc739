// The report's model: entries read once into Views, sorted and laid into
// sections; the sentences shared by the writers.
#include "report_model.h"

#include "sonde/common/clock.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "times.h"

namespace sonde::controller::casefile {

namespace fs = std::filesystem;

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

namespace report_model {
namespace {

// "How we found out" shows this many of the first commands.
constexpr size_t kFirstCommands = 3;

std::string format_span(long long ms) {
  long long s = ms / 1000;
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min", s / 60);
  if (s < 86400) return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
  return fmt::format("{} days {} h", s / 86400, (s % 86400) / 3600);
}

// A shell-readable command line: words with spaces or quotes get single quotes.
std::string command_line(const std::vector<std::string>& argv) {
  std::string out;
  for (std::string w : argv) {
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

std::string kind_name(const std::string& kind) {
  if (kind == "pcap") return "packet capture";
  if (kind == "jfr") return "JFR recording";
  if (kind == "log") return "log";
  if (kind == "json") return "JSON output";
  return "file";
}

View read_view(const Entry& e, size_t order) {
  View v;
  v.order = order;
  v.kind = e.kind;
  v.at_raw = when(e);
  v.at_ms = parse_time_ms(v.at_raw, BareTime::kUtc);
  v.host = e.host.empty() ? e.target : e.host;
  v.tag = e.tag;
  v.summary = e.summary;
  v.exit = e.exit;
  v.duration_ms = e.duration_ms;
  v.redacted = e.redacted;
  if (v.kind == "command") {
    v.command = e.command;
    if (!e.argv.empty())
      v.line = command_line(e.argv);
    else
      v.line = "sonde " + e.command + (e.target.empty() ? "" : " ") + e.target;
    // A failed command may have no summary: its first error says what happened.
    if (v.summary.empty())
      for (const auto& op : e.ops)
        if (op.error) {
          v.summary = op.error->message;
          break;
        }
  } else {
    v.line = e.text;
    if (v.kind == "case" && !v.line.empty()) v.line = "case " + v.line;
  }
  v.figures = e.figures;
  v.merged = e.merged;
  v.fleet = e.fleet;
  v.clocks = e.clocks;
  for (const auto& a : e.artifacts)
    if (!a.path.empty())
      v.artifacts.push_back({a.path, a.kind, a.bytes ? static_cast<long long>(*a.bytes) : -1});
  return v;
}

bool is_observation(const View& v) {
  return v.kind == "note" && (v.tag.empty() || v.tag == "observation");
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

}  // namespace

std::vector<std::string> clock_lines(const View& v) {
  std::vector<std::string> out;
  auto warn = [](int64_t offset_ns) {
    return std::llabs(offset_ns) > kClockWarnNs
               ? " (over 100 ms: its times were moved onto the controller's clock)"
               : "";
  };
  for (const auto& c : v.clocks) {
    ClockOffset k{c.offset_ns, c.bound_ns, c.exchanges};
    out.push_back("clock of " + c.host + ": " + clock_text(k) + " against the controller" +
                  warn(c.offset_ns));
  }
  // A fleet run: how far apart the hosts' clocks are, and the ones far off.
  int64_t lo = 0, hi = 0, bound = 0;
  size_t measured = 0;
  for (const auto& h : v.fleet) {
    if (!h.clock_offset_ns) continue;
    int64_t o = *h.clock_offset_ns;
    lo = measured ? std::min(lo, o) : o;
    hi = measured ? std::max(hi, o) : o;
    bound = std::max(bound, h.clock_bound_ns.value_or(0));
    ++measured;
    if (std::llabs(o) > kClockWarnNs)
      out.push_back("clock of " + h.host + ": " + clock_text({o, h.clock_bound_ns.value_or(0), 0}) +
                    warn(o));
  }
  if (measured)
    out.insert(out.begin(),
               fmt::format("clocks of {} hosts: {:+.3f} to {:+.3f} ms against the controller, "
                           "each within +/- {:.3f} ms or better",
                           measured, static_cast<double>(lo) / 1e6, static_cast<double>(hi) / 1e6,
                           static_cast<double>(bound) / 1e6));
  return out;
}

std::string format_utc(long long ms, const char* fmt) {
  std::time_t t = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

// Artifacts are copied byte for byte: redaction never sees inside them.
// Packet captures, JFR recordings, logs and JSON outputs (command lines,
// headers, environment, payloads) can hold secrets; flame graphs, folded
// stacks and profiles hold symbol names.
bool unredacted(const Artifact& a) {
  return a.kind != "svg" && a.kind != "folded" && a.kind != "pprof";
}

Model build(const ReportInput& in) {
  Model m;
  m.info = in.info;
  m.warnings = in.warnings;
  for (size_t i = 0; i < in.entries.size(); ++i) m.views.push_back(read_view(in.entries[i], i));
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
  Section reproduced{"reproduced",
                     "How we reproduced it",
                     "Could we make it happen again on purpose? A fault injected with sonde "
                     "inject (a syscall failing, a network delay, loss or reset), time-boxed "
                     "and undone, shows whether the suspected cause gives the symptom.",
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
      if (v.command == "inject") reproduced.items.push_back(&v);
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
  m.sections = {std::move(why),        std::move(impact), std::move(found),
                std::move(reproduced), std::move(fix),    std::move(prevent)};
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

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string l; std::getline(is, l);) out.push_back(l);
  if (out.empty()) out.push_back("");
  return out;
}

}  // namespace report_model
}  // namespace sonde::controller::casefile
