// `jvm list`: the JVMs on this host, found from /proc (a mapped libjvm.so,
// or a java launcher where maps are not readable) and described from their
// command line, hsperfdata and sockets, without attaching to any of them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::jvm {

struct ListOptions {
  pid_t only_pid = 0;  // describe this pid alone (errors when it is no JVM)
};

// {"jvms": [...], "notes": [...]}: each JVM with pid, nspid, user, uid,
// main, main_kind, java_version, vm_name, uptime_s, heap, jdwp, jmx,
// listening (TCP ports it listens on), container, attach_socket,
// attach_disabled, hotspot (libjvm.so seen), command.
Result<json> list_jvms(const ListOptions& opts = {});

// TCP ports pid listens on, read from its own network namespace:
// [{"address": "127.0.0.1:5005", "port": 5005}].
json listening_tcp(pid_t pid);

}  // namespace sonde::jvm
