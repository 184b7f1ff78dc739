// A value as the peer sees it: through MessagePack and back, the way every
// frame crosses between controller and agent.
#pragma once

#include "sonde/common/protocol.h"

namespace sonde::testing {

inline json over_the_wire(const json& j) {
  return json::from_msgpack(json::to_msgpack(j));
}

}  // namespace sonde::testing
