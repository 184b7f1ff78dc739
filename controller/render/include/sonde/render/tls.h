// Text for `sonde tls`: one side's probe (connect attempts, the handshake,
// the chain as sent, verification, the hostname check, times, notes).
#pragma once

#include <string>

#include "sonde/net/tls_contract.h"

namespace sonde::render {

std::string render_tls_side(const std::string& label, const net::TlsResult& r);

}  // namespace sonde::render
