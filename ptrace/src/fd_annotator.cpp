#include <sched.h>
#include <sys/syscall.h>

#include <cctype>

#include <fmt/format.h>

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

void ProcFdAnnotator::drop_stale_texts() {
  if (text_loads_ == sockets_.loads() && text_.size() < 4096) return;
  text_.clear();
  text_loads_ = sockets_.loads();
}

void ProcFdAnnotator::append_socket(int pid, uint64_t inode, std::string& out) {
  drop_stale_texts();
  if (auto it = text_.find(inode); it != text_.end()) {
    out += it->second;
    return;
  }
  // Looked up in the tracee's own network namespace (a miss may read the tables).
  if (const auto* s = sockets_.find(pid, inode)) {
    drop_stale_texts();
    out += text_.emplace(inode, socket_text(*s, inode)).first->second;
    return;
  }
  fmt::format_to(std::back_inserter(out), "socket:[{}]", inode);
}

bool ProcFdAnnotator::describe(int pid, int fd, std::string& out) {
  auto* kept = keep_ && pid == current_tid_ ? current_ : nullptr;
  if (kept && !fresh_)
    if (auto it = kept->find(fd); it != kept->end()) {
      append_socket(pid, it->second, out);
      return true;
    }
  if (!proc::fd_target_into(pid, fd, target_)) return false;
  if (auto inode = proc::socket_inode(target_)) {
    if (kept) {
      if (kept->size() >= 4096) kept->clear();
      (*kept)[fd] = *inode;
    }
    append_socket(pid, *inode, out);
    return true;
  }
  out += target_;
  return true;
}

namespace {

// Calls that leave a process's fd table as it was, or only add fds in free
// slots (a kept fd is open, so its number is not free). Anything else clears
// what is kept for the process.
bool keeps_fd_table(long nr) {
  switch (nr) {
    case SYS_read:
    case SYS_write:
    case SYS_pread64:
    case SYS_pwrite64:
    case SYS_readv:
    case SYS_writev:
    case SYS_preadv:
    case SYS_pwritev:
    case SYS_preadv2:
    case SYS_pwritev2:
    case SYS_sendto:
    case SYS_recvfrom:
    case SYS_sendmsg:
    case SYS_recvmsg:
    case SYS_sendmmsg:
    case SYS_recvmmsg:
    case SYS_sendfile:
    case SYS_splice:
    case SYS_tee:
    case SYS_socket:
    case SYS_socketpair:
    case SYS_accept:
    case SYS_accept4:
    case SYS_bind:
    case SYS_connect:
    case SYS_listen:
    case SYS_shutdown:
    case SYS_getsockname:
    case SYS_getpeername:
    case SYS_getsockopt:
    case SYS_setsockopt:
    case SYS_open:
    case SYS_openat:
    case SYS_creat:
    case SYS_pipe:
    case SYS_pipe2:
    case SYS_dup:
    case SYS_eventfd2:
    case SYS_epoll_create1:
    case SYS_timerfd_create:
    case SYS_signalfd4:
    case SYS_poll:
    case SYS_ppoll:
    case SYS_select:
    case SYS_pselect6:
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
    case SYS_epoll_ctl:
    case SYS_fstat:
    case SYS_newfstatat:
    case SYS_statx:
    case SYS_lseek:
    case SYS_fsync:
    case SYS_fdatasync:
    case SYS_ioctl:
    case SYS_futex:
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
    case SYS_clock_gettime:
    case SYS_gettimeofday:
    case SYS_getpid:
    case SYS_getppid:
    case SYS_gettid:
    case SYS_getuid:
    case SYS_geteuid:
    case SYS_getgid:
    case SYS_getegid:
    case SYS_sched_yield:
    case SYS_brk:
    case SYS_mmap:
    case SYS_munmap:
    case SYS_mprotect:
    case SYS_madvise:
    case SYS_mremap:
    case SYS_rt_sigprocmask:
    case SYS_rt_sigaction:
    case SYS_wait4:
    case SYS_kill:
    case SYS_tgkill:
    case SYS_fork:
    case SYS_vfork:
      return true;
    default:
      return false;
  }
}

}  // namespace

void ProcFdAnnotator::exit_seen(pid_t tid, pid_t tgid, long nr, int64_t ret, uint64_t clone_flags) {
  current_tid_ = 0;
  current_ = nullptr;
  if (!keep_ || uncached_.count(tgid)) return;
  bool shares_table = (nr == SYS_clone || nr == SYS_clone3) && (clone_flags & CLONE_FILES) &&
                      !(clone_flags & CLONE_THREAD);
  if (shares_table || nr == SYS_io_uring_setup) {
    if (uncached_.size() >= 4096) uncached_.clear();  // bounded: the worst is a stale entry
    uncached_[tgid] = true;
    if (shares_table && ret > 0) uncached_[static_cast<pid_t>(ret)] = true;
    fd_inode_.erase(tgid);
    if (shares_table && ret > 0) fd_inode_.erase(static_cast<pid_t>(ret));
    return;
  }
  if (fd_inode_.size() >= 4096 && !fd_inode_.count(tgid)) fd_inode_.clear();
  auto& kept = fd_inode_[tgid];
  // A thread (CLONE_THREAD) shares the table and is traced as well.
  if (!keeps_fd_table(nr) && nr != SYS_clone && nr != SYS_clone3) kept.clear();
  current_tid_ = tid;
  current_ = &kept;
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
