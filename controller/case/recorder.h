// The recorder behind the case journal: it watches the sessions of one
// command run (a SessionObserver, wired by main() only when a case is
// active) and keeps every request they send and how it settled; after the
// command returns, record_command() turns that into one journal entry.
// Commands do nothing for it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../session_observer.h"
#include "entry.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::controller::casefile {

class CaseRecorder : public SessionObserver {
 public:
  void on_request(const Session& s, uint64_t id, const std::string& op, const json& args) override;
  void on_result(const Session& s, uint64_t id, const json& result) override;
  void on_error(const Session& s, uint64_t id, const Error& error) override;
  void on_clock(const Session& s, const ClockOffset& c) override;

  // Each host's clock, as its sessions measured it (the last one per host).
  std::vector<ClockRecord> clocks() const;

  // The requests so far, in the order they were sent, each with its result
  // (bounded) or error; a request that never settled has neither.
  std::vector<OpRecord> ops() const;

 private:
  struct Op {
    const Session* session;  // tells sessions apart: request ids restart at 1 in each
    uint64_t id;
    OpRecord rec;
  };
  OpRecord* find_op(const Session* session, uint64_t id);

  mutable std::mutex mu_;
  std::vector<Op> ops_;
  std::vector<ClockRecord> clocks_;
};

// What a fleet run adds to its entry (run_fleet fills it when a case records).
struct FleetJournal {
  std::vector<FleetHostRecord> hosts;
  std::string merged;                // the merged view as printed
  std::string summary;               // "47 of 50 hosts ok, 3 failed"
  std::vector<std::string> figures;  // "unreachable: web[07,19]", ...
};

// What main() knows about one run of a command.
struct Invocation {
  std::vector<std::string> argv;  // the whole command line, argv[0] as "sonde"
  std::string command;            // "trace", "jvm jfr"
  std::string target;
  std::string case_name;  // --case, else the active case
  bool redact = true;
  long duration_ms = 0;
  int exit = 0;
  std::vector<std::string> outputs;   // files it wrote, copied as artifacts
  std::optional<FleetJournal> fleet;  // a fleet run
  std::vector<ClockRecord> clocks;    // CaseRecorder::clocks()
};

// The case this run records into: --case NAME, else the active case; "" for
// none, and for the commands that are not recorded (case ..., report, help).
std::string case_for(const std::string& command, const std::string& case_option);

// Builds the entry for inv from the requests its sessions made (summary,
// figures, ops, artifacts copied from inv.outputs), redacts it and appends
// it. Problems are warnings on stderr: they never change the command's exit
// code.
void record_command(const Invocation& inv, std::vector<OpRecord> ops);

// Copies file into c's artifacts/ as NNNN-<basename> (NNNN = seq); the
// artifact for the entry, or nullopt (with *note set) when skipped.
std::optional<ArtifactRecord> copy_artifact(const std::string& case_dir, int seq,
                                            const std::string& file, std::string* note);
// "svg", "pcap", "jfr", "log", "json", "pprof", "folded", "other".
std::string artifact_kind(const std::string& path);

}  // namespace sonde::controller::casefile
