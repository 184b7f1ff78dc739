// SHA-256 through libcrypto, used to name and verify the deployed agent. Its
// own library (sonde_sha256): the agent, which links libcrypto anyway for
// the TLS probe, and the tests use it; the controller does not load
// libcrypto on every run and asks the agent to hash itself instead.
#pragma once

#include <string>
#include <string_view>

#include "sonde/common/result.h"

namespace sonde {

std::string sha256_hex(std::string_view data);
Result<std::string> sha256_file_hex(const std::string& path);

}  // namespace sonde
