// The `jvm.*` ops' args: one struct each for jvm.list, jvm.attach, jvm.jfr
// and jvm.jmx, with one JSON form, used by the `sonde jvm ...` commands and
// the handlers. validate() is the one judge of a request. Their results are
// in list_contract.h, attach_contract.h, jfr_contract.h and jmx_contract.h.
#pragma once

#include <string>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::jvm {

inline constexpr long kMinAttachTimeoutMs = 100;
inline constexpr long kMaxAttachTimeoutMs = 600000;
inline constexpr long kMinJfrDurationMs = 1000;
inline constexpr long kMaxJfrDurationMs = 24L * 3600 * 1000;

struct JvmListArgs {
  int pid = 0;  // 0: every JVM
};

struct JvmAttachArgs {
  int pid = 0;
  std::string what;  // threads | flags | props | version
  bool all = false;  // threads: also locks; flags: every flag
  long timeout_ms = 10000;
};

struct JfrArgs {
  int pid = 0;
  long duration_ms = 60000;
  std::string settings = "profile";  // default | profile
  long timeout_ms = 10000;
};

struct JmxArgs {
  int pid = 0;
  bool stop = false;  // an older controller's way to end a kept agent
  int port = 0;
  std::string bind = "127.0.0.1";  // loopback only
  long timeout_ms = 10000;
  bool keep = false;  // leave the agent running after the session
};

json to_json(const JvmListArgs& a);
json to_json(const JvmAttachArgs& a);
json to_json(const JfrArgs& a);
json to_json(const JmxArgs& a);
// Wrong types are errc::kBadArgs naming the field.
Result<JvmListArgs> jvm_list_args_from_json(const json& j);
Result<JvmAttachArgs> jvm_attach_args_from_json(const json& j);
Result<JfrArgs> jfr_args_from_json(const json& j);
Result<JmxArgs> jmx_args_from_json(const json& j);

Status validate(const JvmListArgs& a);
Status validate(const JvmAttachArgs& a);
Status validate(const JfrArgs& a);
Status validate(const JmxArgs& a);

}  // namespace sonde::jvm
