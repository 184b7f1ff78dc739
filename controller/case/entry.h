// One journal line as a struct (the schema is in journal.h): what the
// recorder and the note/case commands write, and what `case`, `report` and
// the report's model read. A journal is a file people edit and a crash can
// cut short, so it is read checked: a line with a field of the wrong type is
// an Error naming the line and the field, never an exception.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::controller::casefile {

inline constexpr int kJournalVersion = 1;

struct OpError {
  std::string code, message, hint;
};

// One request a command's sessions made, and how it settled: a result, an
// error, or neither (it never settled). args and result are the op's own
// JSON as sent and received (result bounded by the recorder); their readers
// are the ops' contracts.
struct OpRecord {
  std::string op;
  json args = json::object();
  std::optional<std::string> host;  // the agent's hostname, once it settled
  std::optional<json> result;
  std::optional<OpError> error;
};

// A host's clock against the controller's when the command ran there (NTP's
// on-wire method, clock.h): its events go on the controller's clock with it.
struct ClockRecord {
  std::string host;  // the agent's hostname
  int64_t offset_ns = 0, bound_ns = 0;
  int exchanges = 0;
};

// One host of a fleet run (`sonde CMD web[01-40]`): how it ended there.
struct FleetHostRecord {
  std::string host;  // as listed
  bool ok = false;
  std::string failure;  // "" when ok; unreachable, auth, host key, ...
  long long exit = 0;
  std::string error;  // the first line of its error; "" when ok
  std::optional<int64_t> clock_offset_ns, clock_bound_ns;  // when it was measured
};

struct ArtifactRecord {
  std::string path;  // relative to the case directory: artifacts/0003-profile.svg
  std::string from;  // where the command wrote it; "" when not known
  std::string kind;  // svg pcap jfr log json pprof folded other
  std::optional<uint64_t> bytes;
};

struct Entry {
  int v = kJournalVersion;
  std::string kind;  // command | note | case
  std::string ts;    // when it was recorded (UTC)
  std::string at;    // when it happened; "" in a line that lacks it
  long long redacted = 0;
  // kind command
  std::vector<std::string> argv;
  std::string command, target, host;
  std::optional<long long> duration_ms, exit;
  std::string summary;  // also kind case: its title or event detail
  std::vector<std::string> figures;
  std::vector<OpRecord> ops;
  std::vector<ArtifactRecord> artifacts;
  // Each host's clock offset, measured when the command connected.
  std::vector<ClockRecord> clocks;
  // A fleet run: one entry for every host, and the merged view it printed
  // (bounded), in place of per-host ops.
  std::vector<FleetHostRecord> fleet;
  std::string merged;
  // kind note and case
  std::string text;
  std::string tag;  // note: impact | cause | mitigation | fix | prevention | observation
};

// When it happened, else (a line that lacks `at`) when it was recorded.
inline const std::string& when(const Entry& e) {
  return e.at.empty() ? e.ts : e.at;
}

json to_json(const OpRecord& o);
json to_json(const ArtifactRecord& a);
json to_json(const FleetHostRecord& h);
json to_json(const ClockRecord& c);
// The fields of its kind, as journal.h lists them.
json to_json(const Entry& e);

// Checked: a field of the wrong type is errc::kIo "<where>: <field>: <why>"
// (where: "journal.jsonl line 7"); a missing field keeps its default.
Result<Entry> entry_from_json(const json& j, const std::string& where);

}  // namespace sonde::controller::casefile
