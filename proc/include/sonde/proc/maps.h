// /proc/PID/maps: a process's mappings, for the profiler's module table and
// the JVM check (is libjvm.so mapped?).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::proc {

struct MapEntry {
  uint64_t start = 0, end = 0, offset = 0, inode = 0;
  bool read = false, exec = false;
  std::string path;      // "" for anonymous, "[vdso]", "[stack]", or a file
  bool deleted = false;  // the file was unlinked; " (deleted)" is cut from path
};

// Lines that do not parse (or map nothing) are skipped: the text comes from
// a process that may be changing its mappings while we read.
std::vector<MapEntry> parse_maps(std::string_view text);

}  // namespace sonde::proc
