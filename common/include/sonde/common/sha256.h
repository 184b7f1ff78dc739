// SHA-256 (FIPS 180-4), used to name and verify the deployed agent. Kept in
// common/ so the static agent can hash itself without pulling in libcrypto.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sonde/common/result.h"

namespace sonde {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t len);
  std::array<uint8_t, 32> finish();
  std::string finish_hex();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view data);
Result<std::string> sha256_file_hex(const std::string& path);

}  // namespace sonde
