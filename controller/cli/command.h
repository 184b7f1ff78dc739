// What every command gets: the global options, its own parsed options, the
// target, and helpers to connect and to report. Each command lives in one
// file under controller/commands/ and registers a CommandSpec.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../session.h"
#include "sonde/common/clock.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::controller {

namespace po = boost::program_options;

// Process exit codes, documented in `sonde --help`.
namespace exit_code {
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;   // the inspection itself failed (no such pid, permission)
inline constexpr int kUsage = 2;    // bad command line
inline constexpr int kConnect = 3;  // host unreachable, refused, timed out, name unknown
inline constexpr int kAuth = 4;     // SSH authentication failed
inline constexpr int kHostKey = 5;  // host key unknown or changed
inline constexpr int kAgent = 6;  // agent missing, failed to deploy or start, died, protocol error
inline constexpr int kInternal = 70;  // a bug of sonde's own (EX_SOFTWARE)
inline constexpr int kInterrupted = 130;
}  // namespace exit_code

int exit_code_for(const Error& e);

// sonde's exit status after a run that may have launched a command (trace,
// inject, profile), as strace's: 130 after Ctrl-C (as every command), else
// the command's own status (128 + N when signal N killed it), else 0.
int launched_exit_code(bool cancelled, std::optional<int> exit_code, const std::string& killed_by);

// The one way sonde reports an error: "sonde CMD: error: MESSAGE" and
// "  hint: HINT" on err, CMD the command as typed ("jvm threads"; empty
// before a command is known: "sonde: error:"); with json, also the error
// document {"error": {code, message, hint, errno}, "exit_code"} on out.
// Returns the exit code for it: exit_code_for(e), or `code` when given.
int report_error(const Error& e, const std::string& command, bool json, FILE* out, FILE* err,
                 std::optional<int> code = std::nullopt);
// The same shape for what did not stop the command (a partial result):
// "sonde CMD: warning: MESSAGE" and its hint, on err.
void report_warning(const std::string& command, const std::string& message, const std::string& hint,
                    FILE* err);

// A duration option (--timeout 3s, --interval 500ms), the one spelling every
// command takes: a number with ms, s, m or h (a plain number is seconds).
// Absent: *out_ms is left as it is. Errors name the option and its value.
std::optional<Error> duration_option(const po::variables_map& vm, const char* name, long* out_ms);

class HandshakeGate;
namespace casefile {
struct FleetJournal;
}

struct GlobalOptions {
  bool json = false;
  int verbosity = 0;
  std::string agent_path;
  bool sudo = false;
  std::string via;
  std::string identity;
  std::string ssh_config;
  bool accept_new = false;
  long connect_timeout_ms = 10000;
  std::string remote_dir;
  // A fleet run's cap on SSH handshakes in flight (shared by its hosts);
  // null: one host, no cap.
  HandshakeGate* handshake_gate = nullptr;
  // Measure each session's clock offset once connected (a fleet run that
  // keeps it); with an observer (a case records the run) it always is.
  bool measure_clock = false;
};

struct CommandContext {
  GlobalOptions g;
  std::string command;  // the command's name as typed ("stack", "jvm threads"), for errors
  std::string target;   // as typed; "local" or an ssh target; may be empty with --via
  po::variables_map vm;
  // The arguments after the first `--` (e.g. the command `trace` launches),
  // for commands with takes_rest; never parsed as options.
  std::vector<std::string> rest;
  // Files the command wrote that no output option names (jvm jfr's default
  // sonde-PID.jfr): the case journal copies them with those of -o/-w.
  std::vector<std::string> written;
  // Sees every request of the sessions connect() opens (the case recorder,
  // when a case is active); null: nobody.
  SessionObserver* observer = nullptr;
  // A fleet run fills this for the case journal (main sets it when a case
  // records the run); null: nobody.
  casefile::FleetJournal* fleet_journal = nullptr;
  // Where the command writes: the terminal, or, in a fleet run, this host's
  // captured output (merged when every host is done).
  FILE* out = stdout;
  FILE* err = stderr;
  // connect() reached the agent: deployed, started, and its hello read.
  mutable bool reached_agent = false;
  // The clock offset connect() measured last (see GlobalOptions::measure_clock).
  mutable std::optional<ClockOffset> clock;
  // A fleet host: print_json's first document is stored here rather than
  // printed and parsed back (a second one turns both back into text).
  json* json_sink = nullptr;
  mutable bool json_sink_spent = false;
  // The error fail() reported last (a fleet run classifies the host by it).
  std::optional<Error> failed;

  // Opens the transport for the target and does the handshake.
  Result<std::unique_ptr<Session>> connect() const;
  // Opens only what a port forward needs, with no agent: the SSH connection
  // (sshd serves direct-tcpip itself), or nothing for `local`. --via cannot
  // forward: an error with a hint.
  Result<std::unique_ptr<Transport>> connect_link() const;
  // Reports e with report_error (as `sonde COMMAND: error: ...`, and the JSON
  // document with --json) and returns the exit code.
  int fail(const Error& e);
  // report_warning for this command.
  void warn(const std::string& message, const std::string& hint) const;
  // stdout is a terminal (and out is stdout): its width, else 0.
  int terminal_width() const;
  // By value: a fleet host's document moves into json_sink.
  void print_json(json j) const;
  // --json for an op's result: its JSON with "host", the agent's hostname.
  void print_result_json(json result, const Session& from) const;
};

struct CommandSpec {
  const char* name;  // one word, or two for a family: "jvm list"

  const char* summary;
  const char* synopsis;
  std::function<void(po::options_description&)> options;
  std::function<int(CommandContext&)> run;
  bool needs_target = true;
  bool takes_rest = false;  // accepts `-- ARGS...` (CommandContext::rest)
  // Positional arguments after TARGET, in order, each stored in vm under its
  // name (e.g. forward's "remote-port"). Declare them in `options` too.
  std::vector<const char*> positionals;
  // Every positional after those, in order, under this name (capture's
  // FILTER words). Declare it in `options` as a vector of strings.
  const char* rest_positional = nullptr;
};

// The command table (controller/commands/commands.cpp).
const std::vector<CommandSpec>& all_commands();

// Path of the agent that matches this controller: --agent, $SONDE_AGENT, or
// sonde-agent beside this binary.
std::string default_agent_path();

}  // namespace sonde::controller
