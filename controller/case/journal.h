// The case journal: what an engineer saw while debugging, recorded as they
// work, so the post-mortem report writes itself (`sonde case`, `sonde report`).
//
// A case lives in $SONDE_HOME/cases/NAME/ ($SONDE_HOME defaults to
// ~/.local/share/sonde):
//   case.json       {name, title, created, closed (null or UTC time)}
//   journal.jsonl   one JSON object per line, append-only
//   artifacts/      files the commands wrote (flame graphs, pcaps, .jfr, logs)
// $SONDE_HOME/active holds the name of the active case (`case use`).
//
// A journal line (an Entry), version 1:
//   {"v": 1,
//    "kind": "command" | "note" | "case",     (case: opened / closed / reopened)
//    "ts": "2026-11-25T14:02:03.123Z",        when it was recorded (UTC)
//    "at": "2026-11-25T14:02:00Z",            when it happened (a note's --at; else == ts)
//    -- kind "command":
//    "argv": ["sonde", "trace", ...],         redacted
//    "command": "trace",                      the command's name ("jvm jfr")
//    "target": "web1",                        as typed ("local", "" with --via only)
//    "host": "web1.example",                  the agent's hostname, when one answered
//    "duration_ms": 1234, "exit": 0,
//    "summary": "one line",                   redacted
//    "figures": ["futex 1203 calls, 12 errors (EAGAIN)", ...],  key figures for the report
//    "ops": [{"op": "trace.run", "host": "...", "result": {...} | "error": {...}}],  redacted
//    "artifacts": [{"path": "artifacts/0003-profile.svg", "from": "/tmp/p.svg",
//                   "kind": "svg|pcap|jfr|log|other", "bytes": N}],
//    "fleet": [{"host": "web01", "ok": true, "exit": 0},     a fleet run only: every host,
//              {"host": "web07", "ok": false, "failure": "unreachable", "exit": 3,
//               "error": "ssh web07:22: connection refused"}],
//    "merged": "HOST  PID ...",               the merged view it printed (bounded), redacted
//    -- kind "note":
//    "text": "alerts fired", "tag": "impact|cause|mitigation|fix|prevention|observation",
//    -- every kind:
//    "redacted": N                            values masked in this entry (0 with --no-redact)
//   }
// A crash mid-write can leave at most the last line incomplete: loading skips
// it with a warning that names the line, and every earlier entry loads. A
// line someone edited into the wrong shape (a field of the wrong type) is
// skipped the same way, the warning naming the field (entry.h).
#pragma once

#include <string>
#include <vector>

#include "entry.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::controller::casefile {

// $SONDE_HOME, else $XDG_DATA_HOME/sonde, else ~/.local/share/sonde.
std::string sonde_home();

struct CaseInfo {
  std::string name, title, created, closed;  // closed "" while open
  std::string dir;                           // absolute
};

// Names: [A-Za-z0-9._-]{1,64}, not starting with '.'.
Status valid_case_name(const std::string& name);

Result<CaseInfo> create_case(const std::string& name, const std::string& title);
Result<CaseInfo> open_case(const std::string& name);
std::vector<CaseInfo> list_cases();
// The active case's name ("" when none).
std::string active_case();
Status set_active_case(const std::string& name);  // "" clears
// Rewrites case.json with closed = `closed` ("" reopens). (Added by the
// journal's author for `case close` / `case use` of a closed case.)
Status set_case_closed(const CaseInfo& c, const std::string& closed);

// Appends one entry as one line with a single write(2) on an O_APPEND file,
// then fsync: concurrent sonde runs never interleave, a crash never damages
// earlier lines.
Status append_entry(const CaseInfo& c, const Entry& entry);

struct Journal {
  std::vector<Entry> entries;         // in journal order
  std::vector<std::string> warnings;  // "journal.jsonl line 7: truncated (...); skipped"
};
Result<Journal> load_journal(const CaseInfo& c);

// "2026-11-25T14:02:03.123Z" for now.
std::string utc_now();

}  // namespace sonde::controller::casefile
