#include "sonde/jvm/attach_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::jvm {

json to_json(const JvmAttachResult& r) {
  return {{"pid", r.pid},
          {"what", r.what},
          {"command", r.command},
          {"output", r.output},
          {"output_more_bytes", r.output_more_bytes}};
}

Result<JvmAttachResult> jvm_attach_result_from_json(const json& j) {
  JsonReader r = JsonReader::reply("jvm.attach");
  JvmAttachResult out;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, out.pid, Need::kRequired);
  r.string(j, "what", {}, out.what);
  r.string(j, "command", {}, out.command);
  r.string(j, "output", {}, out.output, Need::kRequired);
  r.integer(j, "output_more_bytes", {}, out.output_more_bytes);
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::jvm
