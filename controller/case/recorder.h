// The process-wide recorder behind the case journal: sessions report every
// request they send and how it settled, and after a command returns,
// record_command() turns that into one journal entry. Commands do nothing
// for it. Off (and free) unless main() enables it for an active case.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::controller {
struct CommandContext;
struct CommandSpec;
}  // namespace sonde::controller

namespace sonde::controller::casefile {

void recorder_enable(bool on);
bool recorder_enabled();

// From Session: `session` only tells sessions apart (request ids restart at 1
// in each).
void record_request(const void* session, uint64_t id, const std::string& op, const json& args);
void record_result(const void* session, uint64_t id, const std::string& host, const json& result);
void record_error(const void* session, uint64_t id, const std::string& host, const Error& error);

// The requests so far, in the order they were sent:
// [{"op", "host", "args", "result"} or {..., "error": {code, message, hint}}];
// a request that never settled has neither.
std::vector<json> recorded_ops();
void recorder_reset();

// What main() knows about one run of a command.
struct Invocation {
  std::vector<std::string> argv;  // the whole command line, argv[0] as "sonde"
  std::string command;            // "trace", "jvm jfr"
  std::string target;
  std::string case_name;  // --case, else the active case
  bool redact = true;
  long duration_ms = 0;
  int exit = 0;
};

// The case this run records into: --case NAME, else the active case; "" for
// none, and for the commands that are not recorded (case ..., report, help).
std::string case_for(const std::string& command, const std::string& case_option);

// Builds the entry for inv (summary, figures, ops, artifacts copied from the
// output options in ctx.vm), redacts it and appends it. Problems are warnings
// on stderr: they never change the command's exit code.
void record_command(const Invocation& inv, const CommandContext& ctx);

// Copies file into c's artifacts/ as NNNN-<basename> (NNNN = seq); the
// artifact object for the entry, or null (with *note set) when skipped.
json copy_artifact(const std::string& case_dir, int seq, const std::string& file,
                   std::string* note);
// "svg", "pcap", "jfr", "log", "json", "pprof", "folded", "other".
std::string artifact_kind(const std::string& path);

// A note's --at as a UTC time "2026-11-25T14:02:00Z": "14:02" or "14:02:30"
// (today in local time, yesterday if that is still ahead of now),
// "2026-11-25T14:02Z" / "2026-11-25T14:02:30Z" (UTC; without the Z, local),
// or "-15m" (that long ago; any duration). now: seconds since the epoch.
Result<std::string> parse_note_time(const std::string& text, long now);

// "2026-11-25T14:02:03Z" for a time in seconds since the epoch.
std::string utc_text(long secs);

}  // namespace sonde::controller::casefile
