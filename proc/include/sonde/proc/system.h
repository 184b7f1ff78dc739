// Host-wide numbers needed to turn per-process ticks and pages into units
// people read: boot time, clock tick, page size, total memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sonde::proc {

struct SystemInfo {
  long clk_tck = 100;
  long page_size = 4096;
  long long boot_time = 0;  // epoch seconds, btime of /proc/stat
  unsigned long long mem_total_kb = 0;
  double uptime_s = 0;  // /proc/uptime
};

SystemInfo read_system_info();

// Numeric entries of /proc, ascending. Threads are not listed there.
std::vector<int> list_pids(const std::string& dir = "/proc");

// CLOCK_MONOTONIC in nanoseconds.
int64_t monotonic_ns();

// Process start as epoch seconds from the stat starttime field.
long long start_epoch(const SystemInfo& sys, unsigned long long starttime_ticks);

}  // namespace sonde::proc
