// Items with a separator between them, for the net checks' one-line texts.
#pragma once

#include <string>

namespace sonde::net {

template <typename Strings>
std::string join(const Strings& items, const std::string& sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace sonde::net
