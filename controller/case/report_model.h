// The post-mortem report's model, shared by its three writers (Markdown,
// HTML, JSON): the journal's entries (read checked by load_journal), sorted
// by when they happened and laid into the sections of a post-mortem, and the
// sentences every format shows the same way.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "report.h"

namespace sonde::controller::casefile::report_model {

std::string format_utc(long long ms, const char* fmt = "%Y-%m-%d %H:%M:%S");

struct Artifact {
  std::string path, kind;
  long long bytes = -1;
};

constexpr const char* kRawWarning =
    "not redacted: may hold secrets (passwords, tokens, cookies, personal data); check it "
    "before sharing";

// One journal entry, read once.
struct View {
  std::string kind;  // command | note | case
  std::optional<long long> at_ms;
  std::string at_raw;
  std::string host;     // the agent's hostname, else the target as typed
  std::string line;     // the command line, a note's text, a case event
  std::string command;  // kind command: its name (trace, inject, ...)
  std::string tag;
  std::string summary;
  std::optional<long long> exit, duration_ms;
  std::vector<std::string> figures;
  // A fleet run: the merged view it printed, and its hosts.
  std::string merged;
  std::vector<FleetHostRecord> fleet;
  std::vector<ClockRecord> clocks;  // each host's clock when the command ran
  std::vector<Artifact> artifacts;
  long long redacted = 0;
  size_t order = 0;  // position in the journal, to keep ties stable

  std::string when() const { return at_ms ? format_utc(*at_ms) : (at_raw.empty() ? "?" : at_raw); }
  std::string hhmm() const { return at_ms ? format_utc(*at_ms, "%H:%M:%S") : when(); }
  bool failed() const { return exit && *exit != 0; }
  std::string first_line() const { return line.substr(0, line.find('\n')); }
};

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

bool unredacted(const Artifact& a);
Model build(const ReportInput& in);
std::string redaction_notice(const Model& m);
std::string raw_notice(const Model& m);
std::string counts_text(const Model& m);
std::string span_text(const Model& m);
std::string artifacts_note(const ReportInput& in, const Model& m);
std::string hosts_text(const Model& m);
std::string result_text(const View& v);
// The hosts' clocks against the controller's, one line each for a command
// (a fleet run: the spread, and each host over the warning threshold).
std::vector<std::string> clock_lines(const View& v);
std::string note_label(const View& v);
std::string safe_artifact_path(const std::string& p);
std::string link_target(const ReportInput& in, const std::string& artifact);
std::string bytes_text(long long b);
std::string raw_label(const Artifact& a);
std::vector<std::string> lines_of(const std::string& s);

}  // namespace sonde::controller::casefile::report_model
