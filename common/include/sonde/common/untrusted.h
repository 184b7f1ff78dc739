// Files in places another user can write: /tmp (hsperfdata, attach trigger
// files), a target's working directory, a container's root through
// /proc/PID/root. Someone there can plant a symlink (to make us read or
// clobber another file) or a FIFO (to hang the agent in open or read).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <cstddef>
#include <string>

#include "sonde/common/fd.h"
#include "sonde/common/result.h"

namespace sonde {

// open(2) with O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC added to flags: a
// symlink in the last component fails (ELOOP) and a FIFO does not block.
// For reading (no O_CREAT in flags), only a regular file is accepted: else
// an error naming what is there. *st (if given) is the opened file's fstat.
Result<ScopedFd> open_untrusted(const std::string& path, int flags = O_RDONLY,
                                struct stat* st = nullptr);

// read_file for such a path: open_untrusted, then at most max_bytes.
Result<std::string> read_untrusted_file(const std::string& path, size_t max_bytes,
                                        struct stat* st = nullptr);

// Removes a folder sonde made (mkdtemp) and the files in it, one level deep,
// when another user may own it now: the JVM's user owns a JMX login folder,
// the debugging user a gdbserver socket folder, and in a sticky /tmp that
// owner can swap the folder for a symlink (to /etc, say). So the folder is
// opened O_NOFOLLOW and its entries unlinked relative to that fd (a symlink
// in it is removed, never followed), and the folder itself goes only if the
// name still holds the inode we emptied. Returns false when it could not
// (gone already counts as removed).
bool remove_private_dir(const std::string& path);

}  // namespace sonde
