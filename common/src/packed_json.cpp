#include "sonde/common/packed_json.h"

namespace sonde {

PackedJson PackedJson::pack(const json& j) {
  PackedJson p;
  if (!j.is_discarded()) p.bytes_ = json::to_msgpack(j);
  return p;
}

bool PackedJson::is_object() const {
  if (bytes_.empty()) return false;
  const std::uint8_t b = bytes_[0];
  return (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;  // fixmap, map 16, map 32
}

json PackedJson::unpack() const {
  if (bytes_.empty()) return nullptr;
  // Our own bytes from to_msgpack: they parse; a failure would be a bug,
  // and reads as "no document" rather than an exception mid-merge.
  return json::from_msgpack(bytes_, true, false);
}

}  // namespace sonde
