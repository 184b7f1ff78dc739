// Signal names, one table for every part of sonde: the names strace prints
// (SIGSEGV; the real-time signals as SIGRTMIN, SIGRT_1 .. SIGRT_32 from the
// kernel's 32), and the way back from a name a user typed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sonde {

// "SIGSEGV" for 11; nullptr outside 1..64.
const char* signal_name(int sig);
// signal_name, or "SIG<n>" for a number without one.
std::string signal_text(int sig);
// 11 for "SIGSEGV", "SEGV" or "11"; nullopt for anything else.
std::optional<int> signal_number(std::string_view name);

}  // namespace sonde
