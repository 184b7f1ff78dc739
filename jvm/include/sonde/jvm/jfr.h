// A Flight Recorder recording taken through attach: JFR.start, wait (with
// progress, cancellable), JFR.stop with a filename in the JVM's /tmp, then
// the file is streamed back in chunks and removed. A cancel ends the wait
// early and the recording is still dumped and streamed.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "sonde/common/cancel.h"
#include "sonde/common/result.h"
#include "sonde/jvm/jfr_contract.h"

namespace sonde::jvm {

struct JfrOptions {
  pid_t pid = 0;
  long duration_ms = 60000;
  std::string settings = "profile";  // default | profile
  size_t chunk_bytes = 256 * 1024;
  long attach_timeout_ms = 10000;
};

struct JfrCallbacks {
  // JfrRecording about once a second, then JfrDumping, then JfrStreaming.
  std::function<void(const JfrEvent&)> progress;
  // Consecutive file bytes from offset.
  std::function<void(uint64_t offset, std::string_view bytes)> chunk;
};

Result<JfrResult> record_jfr(const JfrOptions& o, CancelToken& cancel, const JfrCallbacks& cb);

// The jcmd lines, exposed for tests.
std::string jfr_start_line(const std::string& name, const std::string& settings,
                           long safety_duration_s);
std::string jfr_stop_line(const std::string& name, const std::string& path);

// JFR.start's and JFR.stop's text says whether they worked (their status is
// 0 either way): nullopt when fine, else the JVM's message.
std::optional<std::string> jfr_start_failure(std::string_view output);
std::optional<std::string> jfr_stop_failure(std::string_view output);

}  // namespace sonde::jvm
