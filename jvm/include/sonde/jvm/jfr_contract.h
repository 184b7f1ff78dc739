// The `jvm.jfr` op's result and events: a Flight Recorder recording taken
// through attach (record_jfr), reported as it goes and streamed back in
// chunks; the result says what was recorded and how many bytes were sent.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::jvm {

struct JfrResult {
  int pid = 0;
  std::string name;      // the recording's name in the JVM
  std::string settings;  // default | profile
  long duration_ms = 0;  // asked for
  long recorded_ms = 0;  // until it was stopped
  bool stopped_early = false;
  uint64_t bytes = 0;       // the file, as streamed in the data events
  std::string remote_path;  // where the JVM wrote it (removed since)
};

// Events, each with its "phase".
struct JfrRecording {  // about once a second while recording
  long elapsed_ms = 0;
  long duration_ms = 0;
};
struct JfrDumping {  // the recording stopped; the JVM writes the file
  bool stopped_early = false;
};
struct JfrStreaming {};  // the file's chunks follow
// Consecutive bytes of the file from offset. The bytes are not owned: when
// read, they point into the event's JSON, which must outlive the chunk.
struct JfrChunk {
  uint64_t offset = 0;
  std::span<const uint8_t> data;
};
using JfrEvent = std::variant<JfrRecording, JfrDumping, JfrStreaming, JfrChunk>;

json to_json(const JfrResult& r);
json to_json(const JfrEvent& e);
// Strict: pid and bytes are required; errc::kProtocol naming the field,
// with the mismatch hint.
Result<JfrResult> jfr_result_from_json(const json& j);
// nullopt for a phase this controller does not know (a newer agent's);
// errc::kProtocol naming a bad field, e.g. a chunk whose data is not bytes.
Result<std::optional<JfrEvent>> jfr_event_from_json(const json& j);

}  // namespace sonde::jvm
