#include "sonde/proc/system.h"

#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "sonde/common/io.h"
#include "sonde/proc/text.h"

namespace sonde::proc {

SystemInfo read_system_info() {
  SystemInfo s;
  if (long t = ::sysconf(_SC_CLK_TCK); t > 0) s.clk_tck = t;
  if (long p = ::sysconf(_SC_PAGESIZE); p > 0) s.page_size = p;
  if (auto st = read_file("/proc/stat", 1 << 20)) {
    size_t pos = st->find("\nbtime ");
    if (pos != std::string::npos) {
      auto eol = st->find('\n', pos + 1);
      if (auto v = to_ll(trim(std::string_view(*st).substr(pos + 7, eol - pos - 7))))
        s.boot_time = *v;
    }
  }
  if (auto mi = read_file("/proc/meminfo", 1 << 16))
    if (auto v = field_kb(*mi, "MemTotal")) s.mem_total_kb = *v;
  if (auto up = read_file("/proc/uptime", 256)) s.uptime_s = std::strtod(up->c_str(), nullptr);
  return s;
}

std::vector<int> list_pids(const std::string& dir) {
  std::vector<int> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    auto v = to_ll(e->d_name);
    if (v && *v > 0 && *v <= 0x7fffffff) out.push_back(static_cast<int>(*v));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

int64_t monotonic_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

long long start_epoch(const SystemInfo& sys, unsigned long long starttime_ticks) {
  return sys.boot_time +
         static_cast<long long>(starttime_ticks / static_cast<unsigned long long>(sys.clk_tck));
}

}  // namespace sonde::proc
