// The `jvm.attach` op's result: one read-only diagnostic command run in a
// JVM through its attach socket (`sonde jvm threads|flags|props`), its text
// as the JVM wrote it.
#pragma once

#include <cstdint>
#include <string>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::jvm {

struct JvmAttachResult {
  int pid = 0;
  std::string what;                // threads | flags | props | version
  std::string command;             // the diagnostic command run: "Thread.print -l"
  std::string output;              // cut at a whole line when the reply was capped
  uint64_t output_more_bytes = 0;  // the JVM's reply left out past the cap
};

json to_json(const JvmAttachResult& r);
// Strict: pid and output are required; errc::kProtocol naming the field,
// with the mismatch hint.
Result<JvmAttachResult> jvm_attach_result_from_json(const json& j);

}  // namespace sonde::jvm
