// JSON text of a value that may hold bytes from a target (a command line, a
// path, a hostname): those need not be UTF-8, and nlohmann's dump() throws
// (type_error 316) on anything that is not. Every dump of such data goes
// through here; bytes that are not UTF-8 become U+FFFD.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sonde {

// indent < 0: one line; otherwise pretty-printed with that many spaces.
inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace sonde
