#include <cctype>

#include "sonde/proc/fds.h"
#include "tracer_internal.h"

namespace sonde::ptrace {

std::string ProcFdAnnotator::describe(int pid, int fd) {
  auto target = proc::fd_target(pid, fd);
  if (!target.ok()) return {};
  const std::string& t = *target;
  if (auto inode = proc::socket_inode(t)) {
    // Looked up in the tracee's own network namespace.
    if (const auto* s = sockets_.find(pid, *inode)) {
      std::string proto = s->proto;
      for (auto& c : proto) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (proto == "UNIX")
        return "UNIX:[" + std::to_string(*inode) + (s->local.empty() ? "" : "," + s->local) + "]";
      if (s->peer.empty()) return proto + ":[" + s->local + "]";
      return proto + ":[" + s->local + "->" + s->peer + "]";
    }
  }
  return t;
}

void ProcFdAnnotator::changed(int pid, int fd) {
  auto target = proc::fd_target(pid, fd);
  if (!target.ok()) return;
  if (auto inode = proc::socket_inode(*target)) sockets_.forget(*inode);
}

}  // namespace sonde::ptrace
