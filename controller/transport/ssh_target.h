// SSH target spec: `[user@]host[:port]`, `ssh://[user@]host[:port]`, IPv6 as
// `[::1]:22`. What is not given comes from ~/.ssh/config, then defaults.
#pragma once

#include <optional>
#include <string>

#include "sonde/common/result.h"

namespace sonde::controller {

struct SshTarget {
  std::string user;  // empty: from config or the local user
  std::string host;  // alias or address as typed
  int port = 0;      // 0: from config or 22
};

Result<SshTarget> parse_ssh_target(const std::string& spec);

}  // namespace sonde::controller
