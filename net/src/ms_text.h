// Milliseconds as the net checks print them: two decimals under 10 ms.
#pragma once

#include <fmt/format.h>

#include <string>

namespace sonde::net {

inline std::string ms_text(double ms) {
  return ms < 10 ? fmt::format("{:.2f} ms", ms) : fmt::format("{:.0f} ms", ms);
}

}  // namespace sonde::net
