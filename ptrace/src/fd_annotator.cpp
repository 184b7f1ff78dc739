#include <cctype>

#include "sonde/proc/fds.h"
#include "tracer_internal.h"

namespace sonde::ptrace {
namespace {

std::string socket_text(const proc::SocketInfo& s, uint64_t inode) {
  std::string proto = s.proto;
  for (auto& c : proto) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (proto == "UNIX")
    return "UNIX:[" + std::to_string(inode) + (s.local.empty() ? "" : "," + s.local) + "]";
  if (s.peer.empty()) return proto + ":[" + s.local + "]";
  return proto + ":[" + s.local + "->" + s.peer + "]";
}

}  // namespace

bool ProcFdAnnotator::describe(int pid, int fd, std::string& out) {
  if (!proc::fd_target_into(pid, fd, target_)) return false;
  if (auto inode = proc::socket_inode(target_)) {
    if (text_loads_ != sockets_.loads()) {
      text_.clear();
      text_loads_ = sockets_.loads();
    }
    if (auto it = text_.find(*inode); it != text_.end()) {
      out += it->second;
      return true;
    }
    // Looked up in the tracee's own network namespace.
    if (const auto* s = sockets_.find(pid, *inode)) {
      if (text_loads_ != sockets_.loads() || text_.size() >= 4096) {
        text_.clear();
        text_loads_ = sockets_.loads();
      }
      out += text_.emplace(*inode, socket_text(*s, *inode)).first->second;
      return true;
    }
  }
  out += target_;
  return true;
}

void ProcFdAnnotator::changed(int pid, int fd) {
  if (!proc::fd_target_into(pid, fd, target_)) return;
  if (auto inode = proc::socket_inode(target_)) {
    sockets_.forget(*inode);
    text_.erase(*inode);
  }
}

void ProcFdAnnotator::may_be_listed(int pid, int fd) {
  if (!sockets_.has_misses() || !proc::fd_target_into(pid, fd, target_)) return;
  if (auto inode = proc::socket_inode(target_)) sockets_.retry(*inode);
}

}  // namespace sonde::ptrace
