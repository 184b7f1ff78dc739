// Masks secrets before they reach the case journal or a report: environment
// values, --password/--token style arguments, key=value secrets,
// Authorization/Cookie headers, user:pass@ in URLs (a '/' in the password
// too), secrets in URL queries (?token= &key= &sig= access_token api_key...),
// and the password options of clients: mysql/mariadb -pX, redis-cli -a X,
// curl -u user:X. Lines of any length are covered whole. Each masked value
// becomes "***" and is counted.
#pragma once

#include <string>

#include "sonde/common/frame.h"

namespace sonde::controller::casefile {

inline constexpr const char* kMask = "***";

// Masks the secrets in one line of text; adds the number masked to *count.
std::string redact_text(const std::string& text, int* count);

// A target as typed (user:pass@host, ssh://..., a --via command).
std::string redact_target(const std::string& target, int* count);

// A command line: `--password X` (value in the next word) as well as the
// patterns of redact_text in each word.
json redact_argv(const json& argv, int* count);

// Every string in j through redact_text; the values of environment lists
// ("env": ["K=V", ...] or {"K": "V"}) are masked whole.
json redact_json(const json& j, int* count);

}  // namespace sonde::controller::casefile
