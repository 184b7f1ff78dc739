// Small text helpers the fleet's parsers share.
#pragma once

#include <cctype>
#include <string_view>

namespace sonde::controller::fleet {

inline std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The lines of text, without their '\n'.
template <typename F>
void for_each_line(std::string_view text, F&& f) {
  size_t at = 0, number = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    f(text.substr(at, end - at), ++number);
    at = end + 1;
  }
}

}  // namespace sonde::controller::fleet
