// Text for `sonde dns`: one side's answers (system resolver, each
// nameserver's records, search list, notes). Shapes in sonde/net/dns.h.
#pragma once

#include <string>

#include "sonde/common/frame.h"

namespace sonde::render {

std::string render_dns_side(const std::string& label, const sonde::json& result);

}  // namespace sonde::render
