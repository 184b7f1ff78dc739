// Small strict parsers for procfs text. Everything in /proc can be odd (a comm
// with spaces, a truncated line from a process that died mid-read), so these
// return nullopt instead of guessing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::proc {

std::string_view trim(std::string_view s);

// Splits on runs of spaces/tabs; no empty fields.
std::vector<std::string_view> split_ws(std::string_view s);

// Splits on one separator character, keeping empty fields.
std::vector<std::string_view> split_char(std::string_view s, char sep);

std::optional<long long> to_ll(std::string_view s, int base = 10);
std::optional<unsigned long long> to_ull(std::string_view s, int base = 10);

// "Key:\tvalue" lines of /proc/PID/status and friends; nullopt when absent.
std::optional<std::string_view> field_value(std::string_view text, std::string_view key);

// "VmRSS:\t  1234 kB" → 1234.
std::optional<unsigned long long> field_kb(std::string_view text, std::string_view key);

// Control characters from hostile content replaced by '?', so names and
// command lines can be shown on a terminal.
std::string printable(std::string_view s);

// Invalid UTF-8 bytes replaced by '?': process names, paths and environments
// are arbitrary bytes, and JSON text output rejects invalid UTF-8.
std::string utf8_safe(std::string_view s);

}  // namespace sonde::proc
