// `jvm list`: the JVMs on this host, found from /proc (a mapped libjvm.so,
// or a java launcher where maps are not readable) and described from their
// command line, hsperfdata and sockets, without attaching to any of them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "sonde/common/result.h"
#include "sonde/jvm/list_contract.h"

namespace sonde::jvm {

struct ListOptions {
  pid_t only_pid = 0;  // describe this pid alone (errors when it is no JVM)
};

// The JVMs (at most kMaxJvms; those past it are counted in a note) and
// notes on what could not be read.
Result<JvmListResult> list_jvms(const ListOptions& opts = {});

// TCP ports pid listens on (at most kMaxListening), read from its own
// network namespace.
std::vector<ListeningSocket> listening_tcp(pid_t pid);

}  // namespace sonde::jvm
