// Text for `sonde tls`: one side's probe (connect attempts, the handshake,
// the chain as sent, verification, the hostname check, times, notes).
#pragma once

#include <string>
#include <vector>

#include "sonde/net/tls_contract.h"

namespace sonde::render {

std::string render_tls_side(const std::string& label, const net::TlsResult& r);

// Many sides: one line each, the outcome, version, the leaf certificate
// (subject CN and the start of its SHA-256) and what failed; sides whose
// outcome and certificate are rarest first (the host served another cert).
std::string render_tls_matrix(const std::vector<net::Side<net::TlsResult>>& sides);

}  // namespace sonde::render
