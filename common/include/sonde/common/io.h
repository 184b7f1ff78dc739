// Small blocking IO helpers that retry on EINTR and short transfers.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sonde/common/result.h"

namespace sonde {

// Reads a whole file (procfs files report size 0, so read until EOF).
// max_bytes bounds what we keep from hostile or huge files.
Result<std::string> read_file(const std::string& path, size_t max_bytes = 16 << 20);

// readlink(2) into a string.
Result<std::string> read_link(const std::string& path);

// Writes all of data; fails on EPIPE and friends.
Status write_all(int fd, std::string_view data);

// Creates or truncates path and writes bytes to it; errors name the path and
// carry `hint` (e.g. "check the -o path").
Status write_file(const std::string& path, std::string_view bytes, std::string hint = {});

// Waits until fd is readable or timeout_ms passes (-1: forever).
// Returns true when readable (or hung up), false on timeout.
Result<bool> wait_readable(int fd, int timeout_ms);

// Reads up to n bytes; 0 means EOF.
Result<size_t> read_some(int fd, char* buf, size_t n);

// CLOCK_MONOTONIC in milliseconds, for deadlines.
long monotonic_ms();

// "1.5s", "200ms", "10", "2m" → milliseconds. Plain numbers are seconds.
std::optional<long> parse_duration_ms(std::string_view text);

// 1536 → "1.5K" like ps/top.
std::string human_bytes(unsigned long long bytes);

// The first executable regular file `name` in $PATH, as execvp would find it.
std::optional<std::string> find_in_path(const std::string& name);

}  // namespace sonde
