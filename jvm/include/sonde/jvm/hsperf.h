// hsperfdata: the shared-memory counters every HotSpot JVM publishes (unless
// -XX:-UsePerfData) in /tmp/hsperfdata_<user>/<nspid>. Read without
// attaching, so `jvm list` never disturbs a JVM. Layout: a 32-byte prologue
// (magic 0xcafec0c0, byte order, version, entry offset and count) and then
// entries, each with its length, name offset, vector length, type
// ('J' = 64-bit integer, 'B' = bytes, a string when a vector) and data offset.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "sonde/common/result.h"

namespace sonde::jvm {

struct PerfCounter {
  bool is_string = false;
  long long number = 0;
  std::string text;
};

using PerfData = std::map<std::string, PerfCounter>;

// Parses a whole hsperfdata file. Every offset is bounds-checked: a corrupt
// or truncated file gives an error or the entries before the damage.
Result<PerfData> parse_hsperfdata(std::string_view buf);

// Finds and reads /proc/PID/root/tmp/hsperfdata_*/NSPID. As the JDK does, a
// file (or its directory) not owned by the JVM's effective user euid, a
// symlink, a FIFO, or a directory others can write is skipped, with a line
// in *notes: another user of /tmp may have planted it.
Result<PerfData> read_hsperfdata(pid_t pid, pid_t nspid, uid_t euid,
                                 std::vector<std::string>* notes = nullptr);

std::optional<std::string> perf_string(const PerfData& d, const std::string& name);
std::optional<long long> perf_number(const PerfData& d, const std::string& name);

}  // namespace sonde::jvm
