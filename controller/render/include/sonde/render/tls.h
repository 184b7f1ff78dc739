// Text for `sonde tls`: one side's probe (connect attempts, the handshake,
// the chain as sent, verification, the hostname check, times, notes).
// Shapes in sonde/net/tls.h (to_json).
#pragma once

#include <string>

#include "sonde/common/frame.h"

namespace sonde::render {

std::string render_tls_side(const std::string& label, const sonde::json& result);

}  // namespace sonde::render
