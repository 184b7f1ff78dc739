// Test inputs captured from a real OpenJDK 17 JVM (tests/unit/jvm/data).
#pragma once

#include <fstream>
#include <iterator>
#include <string>

namespace sonde::jvm::testing {

inline std::string data_file(const std::string& name) {
  std::ifstream f(std::string(SONDE_JVM_TEST_DATA) + "/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace sonde::jvm::testing
