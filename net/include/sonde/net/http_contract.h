// The `net.http` op's contract: HttpRequest (http.h) as its args and
// HttpResult (http.h) as its result, one JSON form each, used by
// `sonde diagnose` and the handler; validate() is the one judge of a
// request.
#pragma once

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/http.h"

namespace sonde::net {

inline constexpr long kMaxHttpTimeoutMs = 120000;
inline constexpr size_t kMaxHttpPath = 2048;
// http_probe keeps seven headers.
inline constexpr size_t kMaxHttpHeaders = 16;

json http_args_json(const HttpRequest& r);
// Wrong types are errc::kBadArgs naming the field. A port of 0 or none is
// the scheme's (443 with tls, else 80).
Result<HttpRequest> http_args_from_json(const json& j);
// Host, port, path, timeout: errc::kBadArgs with a hint.
Status validate(const HttpRequest& r);

// {ok, tls, path, stage, total_ms, summary, address (once it got that far),
// and when ok: version, status, reason, headers {name: value}, ttfb_ms,
// body_bytes, body_truncated; when not: error}.
json to_json(const HttpResult& r);
// Strict: errc::kProtocol naming the field, with the agent mismatch hint.
Result<HttpResult> http_result_from_json(const json& j);

}  // namespace sonde::net
