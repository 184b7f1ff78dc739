#include "sonde/common/untrusted.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace sonde {
namespace {

const char* kind_of(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
  return "not a regular file";
}

}  // namespace

Result<ScopedFd> open_untrusted(const std::string& path, int flags, struct stat* st) {
  ScopedFd fd(::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    int e = errno;
    if (e == ELOOP)
      return Error::sys(errc::kPermission, e, path + " is a symbolic link: not followed",
                        "someone else may have planted it; look at who owns it");
    return errno_error("open " + path, e);
  }
  struct stat own {};
  struct stat* s = st ? st : &own;
  if (::fstat(fd.get(), s) != 0) return errno_error("fstat " + path);
  if ((flags & O_CREAT) == 0 && !S_ISREG(s->st_mode))
    return Error{errc::kIo, fmt::format("{} is {}: not read", path, kind_of(s->st_mode)),
                 "someone else may have planted it; look at who owns it"};
  return fd;
}

Result<std::string> read_untrusted_file(const std::string& path, size_t max_bytes,
                                        struct stat* st) {
  auto fd = open_untrusted(path, O_RDONLY, st);
  if (!fd) return fd.error();
  std::string out;
  char buf[16384];
  while (out.size() < max_bytes) {
    ssize_t n = ::read(fd->get(), buf, std::min(sizeof buf, max_bytes - out.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool remove_private_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (path.empty() || slash == std::string::npos || slash + 1 == path.size()) return false;
  std::string parent = slash == 0 ? "/" : path.substr(0, slash), base = path.substr(slash + 1);
  ScopedFd pfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!pfd.valid()) return errno == ENOENT;
  int dfd = ::openat(pfd.get(), base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return errno == ENOENT;
  struct stat held {};
  ::fstat(dfd, &held);
  // fdopendir owns dfd from here; closedir closes it.
  if (DIR* d = ::fdopendir(dfd)) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") (void)::unlinkat(::dirfd(d), n.c_str(), 0);
    }
    ::closedir(d);
  } else {
    ::close(dfd);
  }
  struct stat now {};
  if (::fstatat(pfd.get(), base.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT;
  // Swapped since: not ours. (A swap after this check can only make rmdir
  // remove an empty folder, or fail on a symlink.)
  if (now.st_dev != held.st_dev || now.st_ino != held.st_ino) return false;
  return ::unlinkat(pfd.get(), base.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT;
}

}  // namespace sonde
