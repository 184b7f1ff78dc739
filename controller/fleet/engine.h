// The fleet engine: one command over many hosts at once. Hosts run in a
// sliding window of worker threads (--fanout), each with its own session;
// SSH handshakes in flight are capped separately (HandshakeGate). What each
// host printed is captured, its failure classified, and the whole run is
// bounded by --deadline and Ctrl-C: hosts that had not finished are named,
// never waited for past the cancel grace.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fleet/targets.h"
#include "sonde/common/clock.h"
#include "sonde/common/frame.h"
#include "sonde/common/packed_json.h"
#include "sonde/common/result.h"

namespace sonde::controller::fleet {

// Why a host failed. The classes a fleet summary counts.
enum class Failure {
  kNone,
  kUnreachable,  // no TCP connection, name unknown, connect timed out
  kAuth,         // SSH authentication refused
  kHostKey,      // host key unknown or changed
  kUpload,       // the agent could not be deployed or started
  kPermission,   // ptrace, perf_event or capture denied there
  kCommand,      // the command itself failed (no such pid, bad reply, ...)
  kTimeout,      // still running at --deadline, or never started before it
  kInterrupted,  // still running at Ctrl-C, or never started before it
};

// "unreachable", "auth", "host key", ...; "" for kNone.
const char* failure_name(Failure f);
struct HostReport;
// From how the command ended on a host; deadline_passed turns a
// cancellation into kTimeout.
Failure classify(const HostReport& r, bool deadline_passed);

struct HostRun {
  FleetTarget target;
  bool started = false, finished = false;
  int exit_code = -1;
  std::string out, err;  // what the command printed there
  // With EngineOptions::json_output, out read as JSON in the worker and kept
  // packed (the text is then dropped: 1000 hosts hold one compact copy);
  // none when it is not JSON.
  PackedJson result;
  std::optional<Error> error;  // what it failed with
  Failure failure = Failure::kNone;
  long started_ms = 0, ended_ms = 0;  // since the run began
  std::optional<ClockOffset> clock;   // the host's, when it was measured
  bool ok() const { return finished && failure == Failure::kNone; }
};

struct EngineOptions {
  int fanout = 64;
  long deadline_ms = 0;  // the whole run; 0: none
  // A live "37/100 done, 2 failed, 61 running" line on this stream (a
  // terminal); null: none.
  FILE* progress = nullptr;
  // Each host's output is one JSON document: read it as the host finishes.
  bool json_output = false;
};

struct RunOutcome {
  std::vector<HostRun> hosts;  // in target order
  bool interrupted = false;    // Ctrl-C
  bool deadline_passed = false;
  long wall_ms = 0;
};

// How the command ended on one host.
struct HostReport {
  int exit_code = 0;
  std::optional<Error> error;        // what it failed with
  bool reached_agent = false;        // the agent was deployed, started and greeted
  std::optional<ClockOffset> clock;  // the host's clock offset, when measured
  // Its JSON result when the command handed it over as one document
  // (CommandContext::json_sink); discarded: read from what it printed.
  json result = json(json::value_t::discarded);
};

// Runs the command for one host, writing to out/err. Called on a worker
// thread.
using HostBody = std::function<HostReport(const FleetTarget& t, FILE* out, FILE* err)>;

RunOutcome run_hosts(const std::vector<FleetTarget>& targets, const EngineOptions& opts,
                     const HostBody& body);

// Raises RLIMIT_NOFILE's soft limit to the hard one (each host holds a
// socket and, for some transports, pipes). Returns the limit now in force.
long raise_fd_limit();

// Exit codes of a fleet run (documented in `sonde --help`).
inline constexpr int kExitSomeFailed = 7;
inline constexpr int kExitAllFailed = 8;
int fleet_exit_code(const RunOutcome& r);

}  // namespace sonde::controller::fleet
