// Open file descriptors of a process from /proc/PID/fd and /proc/PID/fdinfo.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sonde/common/result.h"
#include "sonde/proc/inspect_contract.h"

namespace sonde::proc {

// fdinfo "flags:" value (octal open flags) → "O_RDWR|O_NONBLOCK|O_CLOEXEC".
std::string decode_open_flags(unsigned long long flags);

// "socket:[123]" → socket, "pipe:[5]" → pipe, "anon_inode:[eventfd]" → anon,
// "/dev/null" → device, "/etc/hosts" → file, else other.
std::string fd_kind(std::string_view target);

// Where fd of pid points: "/etc/hosts", "socket:[123]", "pipe:[5]" (the
// /proc/PID/fd/FD link). An error when the fd is closed or pid is gone.
Result<std::string> fd_target(int pid, int fd);
// The same into `into` (its buffer reused: no malloc once it has grown, for
// trace -y's per-call lookups); false when the link cannot be read.
bool fd_target_into(int pid, int fd, std::string& into);

// The inode of the socket behind a "socket:[123]" link target; nullopt for
// anything else.
std::optional<uint64_t> socket_inode(std::string_view target);

// Upper bounds on fds listed: a leaking process can hold a million (kMaxFds,
// inspect_contract.h), and each entry can carry a 4 KiB path. The
// lowest-numbered fds are listed.
inline constexpr size_t kFdsBudgetBytes = 5u << 20;

// The fds, lowest first. Fails only when the fd directory itself cannot be
// read; per-fd races go to notes. Fds left out by the caps are counted in
// *more (when given) and said in a note.
Result<std::vector<FdEntry>> list_fds(int pid, std::vector<std::string>& notes,
                                      size_t* more = nullptr,
                                      size_t budget_bytes = kFdsBudgetBytes);

}  // namespace sonde::proc
