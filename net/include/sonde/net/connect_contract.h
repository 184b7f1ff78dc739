// The `net.connect` op's args: ConnectOptions (connect.h) on the wire, used
// by `sonde connect`, `sonde diagnose` and the handler; validate(const
// ConnectOptions&) in connect.h is the one judge of a request. The result is
// ConnectReport's JSON (connect.h).
#pragma once

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/connect.h"

namespace sonde::net {

// family travels as "any", "4" or "6".
json connect_args_json(const ConnectOptions& o);
// Wrong types (and a family that is none of those) are errc::kBadArgs
// naming the field; missing fields keep ConnectOptions' defaults, except
// count, which defaults to 1 as older controllers expect.
Result<ConnectOptions> connect_args_from_json(const json& j);

}  // namespace sonde::net
