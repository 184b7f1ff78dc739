// A JSON document kept as MessagePack bytes: what a fleet run holds for each
// host between the host's command and the merge. A parsed document costs
// about ten times its text (a std::map per object); 1000 hosts' ps lists
// held that way do not fit the controller's memory budget, their bytes do.
#pragma once

#include <cstdint>
#include <vector>

#include "sonde/common/frame.h"

namespace sonde {

class PackedJson {
 public:
  PackedJson() = default;  // no document
  static PackedJson pack(const json& j);

  bool has_value() const { return !bytes_.empty(); }
  // The document is a map (read from its first byte, without unpacking).
  bool is_object() const;
  // The document; null when there is none.
  json unpack() const;
  size_t bytes() const { return bytes_.size(); }

 private:
  std::vector<std::uint8_t> bytes_;
};

}  // namespace sonde
