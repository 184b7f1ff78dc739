// The substring check most assertions on captured output use.
#pragma once

#include <string>

namespace sonde::testing {

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace sonde::testing
