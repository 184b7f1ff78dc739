#include "sonde/proc/fds.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/limits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>

#include "sonde/common/io.h"
#include "sonde/proc/sockets.h"
#include "sonde/proc/text.h"

namespace sonde::proc {

std::string decode_open_flags(unsigned long long flags) {
  std::string out;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      out = "O_RDONLY";
      break;
    case O_WRONLY:
      out = "O_WRONLY";
      break;
    case O_RDWR:
      out = "O_RDWR";
      break;
    default:
      out = "O_ACCMODE";
      break;
  }
  // O_LARGEFILE is left out: the kernel forces it on every 64-bit open, and
  // glibc defines it as 0 there, so it would only be noise.
  static const std::pair<unsigned long long, const char*> bits[] = {
      {O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"},   {O_DSYNC, "O_DSYNC"},
      {O_DIRECT, "O_DIRECT"}, {O_DIRECTORY, "O_DIRECTORY"}, {O_NOATIME, "O_NOATIME"},
      {O_PATH, "O_PATH"},     {O_ASYNC, "O_ASYNC"},         {O_CLOEXEC, "O_CLOEXEC"},
  };
  for (auto [bit, name] : bits) {
    // O_SYNC includes the O_DSYNC bit; O_PATH and O_DIRECTORY are single bits.
    if ((flags & bit) == bit) out += std::string("|") + name;
  }
  if ((flags & O_SYNC) == static_cast<unsigned long long>(O_SYNC)) {
    auto p = out.find("|O_DSYNC");
    out.replace(p, 8, "|O_SYNC");
  }
  return out;
}

std::string fd_kind(std::string_view t) {
  if (t.starts_with("socket:[")) return "socket";
  if (t.starts_with("pipe:[")) return "pipe";
  if (t.starts_with("anon_inode:")) return "anon";
  if (t.starts_with("/dev/")) return "device";
  if (t.starts_with("/")) return "file";
  return "other";
}

Result<std::vector<FdEntry>> list_fds(int pid, std::vector<std::string>& notes, size_t* more,
                                      size_t budget_bytes) {
  if (more) *more = 0;
  std::string base = "/proc/" + std::to_string(pid);
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir((base + "/fd").c_str()), ::closedir);
  if (!d) return errno_error("open " + base + "/fd");
  std::vector<int> fds;
  while (dirent* e = ::readdir(d.get())) {
    if (auto n = to_ll(e->d_name); n && *n >= 0 && *n <= 0x7fffffff)
      fds.push_back(static_cast<int>(*n));
  }
  std::sort(fds.begin(), fds.end());
  size_t left_out = 0;
  if (fds.size() > kMaxFds) {
    left_out = fds.size() - kMaxFds;
    fds.resize(kMaxFds);
  }

  // Socket tables are loaded only when there is a socket to look up.
  std::optional<SocketTable> sockets;
  std::vector<FdEntry> out;
  size_t gone = 0;
  ListBudget budget(budget_bytes);
  for (size_t i = 0; i < fds.size(); ++i) {
    int fd = fds[i];
    std::string n = std::to_string(fd);
    auto target = fd_target(pid, fd);
    if (!target) {
      // ENOENT: closed between readdir and readlink, the process is working.
      if (target.error().sys_errno == ENOENT) {
        ++gone;
        continue;
      }
      // Anything else (EACCES for a process we may not ptrace) hits every fd
      // alike: with none read there is no list, not an empty one.
      if (out.empty()) return target.error();
      notes.push_back("fd list: " + target.error().message);
      break;
    }
    FdEntry e{fd, fd_kind(*target), utf8_safe(*target)};
    if (auto info = read_file(base + "/fdinfo/" + n, 64 << 10)) {
      if (auto v = field_value(*info, "flags"))
        if (auto f = to_ull(*v, 8)) e.flags = decode_open_flags(*f);
      if (auto v = field_value(*info, "pos"))
        if (auto p = to_ll(*v)) e.pos = *p;
    }
    if (e.kind == "socket") {
      auto inode = socket_inode(*target);
      if (!sockets) sockets = SocketTable::load(pid, &notes);
      if (const SocketInfo* s = inode ? sockets->find(*inode) : nullptr) {
        e.socket = *s;
        e.socket->local = utf8_safe(s->local);
      } else {
        // Not in any table of the namespace: packet, vsock, bluetooth, ...
        e.socket = SocketInfo{kUnknownSocket, {}, {}, {}, {}, inode.value_or(0)};
      }
    }
    if (!budget.take(wire_size_bound(to_json(e)))) {
      left_out += fds.size() - i;
      break;
    }
    out.push_back(std::move(e));
  }
  if (gone) notes.push_back("fd list: " + std::to_string(gone) + " fds closed while reading");
  if (left_out)
    notes.push_back(
        fmt::format("fd list: {} more fds not listed (the first {} are)", left_out, out.size()));
  if (more) *more = left_out;
  return out;
}

namespace {

// "/proc/PID/fd/FD" into path, without a malloc.
void fd_link_path(int pid, int fd, char (&path)[64]) {
  auto end = fmt::format_to_n(path, sizeof path - 1, "/proc/{}/fd/{}", pid, fd).out;
  *end = '\0';
}

}  // namespace

Result<std::string> fd_target(int pid, int fd) {
  std::string target;
  if (fd_target_into(pid, fd, target)) return target;
  int err = errno;
  char path[64];
  fd_link_path(pid, fd, path);
  return errno_error(std::string("readlink ") + path, err);
}

bool fd_target_into(int pid, int fd, std::string& into) {
  char path[64];
  fd_link_path(pid, fd, path);
  // A link longer than PATH_MAX is cut, as readlink(2) cuts it.
  into.resize(PATH_MAX);
  ssize_t n = ::readlink(path, into.data(), into.size());
  if (n < 0) {
    into.clear();
    return false;
  }
  into.resize(static_cast<size_t>(n));
  return true;
}

std::optional<uint64_t> socket_inode(std::string_view target) {
  if (!target.starts_with("socket:[") || !target.ends_with("]")) return std::nullopt;
  return to_ull(target.substr(8, target.size() - 9));
}

}  // namespace sonde::proc
