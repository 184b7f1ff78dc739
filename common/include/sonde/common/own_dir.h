// A directory sonde keeps state in that others must not touch (undo records,
// the injection notice board): really a directory, not a link to one, owned
// by our euid, with none of the `deny` mode bits (022: nobody else may write
// in it; 077: nor read it). Another user who made it first, or put a symlink
// there, gets it refused, never used.
#pragma once

#include <sys/types.h>

#include <string>

#include "sonde/common/result.h"

namespace sonde {

Status check_own_dir(const std::string& dir, mode_t deny);

// Makes `dir` with `mode` when it is missing, then checks it as above.
// mkdir_hint: the hint when mkdir itself is refused (EACCES, EPERM).
Status make_own_dir(const std::string& dir, mode_t mode, mode_t deny,
                    const std::string& mkdir_hint = "");

}  // namespace sonde
