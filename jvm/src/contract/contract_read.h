// Reading the jvm.* results: what their readers share beyond JsonReader.
#pragma once

#include "sonde/common/json_read.h"

namespace sonde::jvm {

// A TCP port, 0..65535 (0: none given); anything else fails naming the field.
inline void read_port(JsonReader& r, const json& o, const char* key, const JsonPath& at, int& out,
                      Need need = Need::kOptional) {
  r.integer(o, key, at, out, need);
  if (!r.failed() && (out < 0 || out > 65535))
    r.fail(at / key, fmt::format("{} is not a port", out));
}

}  // namespace sonde::jvm
