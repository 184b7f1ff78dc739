// Open file descriptors of a process from /proc/PID/fd and /proc/PID/fdinfo.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::proc {

// fdinfo "flags:" value (octal open flags) → "O_RDWR|O_NONBLOCK|O_CLOEXEC".
std::string decode_open_flags(unsigned long long flags);

// "socket:[123]" → socket, "pipe:[5]" → pipe, "anon_inode:[eventfd]" → anon,
// "/dev/null" → device, "/etc/hosts" → file, else other.
std::string fd_kind(std::string_view target);

// Upper bound on fds listed; a leaking process can hold a million.
inline constexpr size_t kMaxFds = 16384;

// Array of {fd, kind, target, flags, pos, socket?}. Fails only when the fd
// directory itself cannot be read; per-fd races go to notes.
Result<json> list_fds(int pid, std::vector<std::string>& notes);

}  // namespace sonde::proc
