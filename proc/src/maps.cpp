#include "sonde/proc/maps.h"

#include <cstdio>

#include "sonde/proc/text.h"

namespace sonde::proc {

std::vector<MapEntry> parse_maps(std::string_view text) {
  std::vector<MapEntry> out;
  for (std::string_view view : split_char(text, '\n')) {
    // sscanf needs the line NUL-terminated.
    std::string line(view);
    MapEntry m;
    char perms[8] = {};
    unsigned long long start, end, off, inode;
    unsigned dmaj, dmin;
    int consumed = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off,
                    &dmaj, &dmin, &inode, &consumed) < 7)
      continue;
    m.start = start;
    m.end = end;
    m.offset = off;
    m.inode = inode;
    m.read = perms[0] == 'r';
    m.exec = perms[2] == 'x';
    if (consumed > 0 && static_cast<size_t>(consumed) <= line.size())
      m.path = line.substr(static_cast<size_t>(consumed));
    static const std::string kDeleted = " (deleted)";
    if (m.path.size() > kDeleted.size() &&
        m.path.compare(m.path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
      m.deleted = true;
      m.path.resize(m.path.size() - kDeleted.size());
    }
    if (m.end > m.start) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace sonde::proc
