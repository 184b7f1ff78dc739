// Text for `sonde dns`: one side's answers (system resolver, each
// nameserver's records, search list, notes). Shapes in sonde/net/dns.h.
#pragma once

#include <vector>

#include <string>

#include "sonde/common/frame.h"

namespace sonde::render {

std::string render_dns_side(const std::string& label, const sonde::json& result);

// Many sides ({side, result} maps): one line each, what the system resolver
// answered and the first nameserver's rcode; sides whose verdict and answer
// are rarest first (the host that resolves elsewhere leads).
std::string render_dns_matrix(const std::vector<sonde::json>& sides);

}  // namespace sonde::render
