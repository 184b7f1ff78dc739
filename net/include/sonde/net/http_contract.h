// The `net.http` op's args: HttpRequest (http.h) on the wire, used by
// `sonde diagnose` and the handler; validate() is the one judge of a
// request. The result is http_probe's JSON (http.h).
#pragma once

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/http.h"

namespace sonde::net {

inline constexpr long kMaxHttpTimeoutMs = 120000;
inline constexpr size_t kMaxHttpPath = 2048;

json http_args_json(const HttpRequest& r);
// Wrong types are errc::kBadArgs naming the field. A port of 0 or none is
// the scheme's (443 with tls, else 80).
Result<HttpRequest> http_args_from_json(const json& j);
// Host, port, path, timeout: errc::kBadArgs with a hint.
Status validate(const HttpRequest& r);

}  // namespace sonde::net
