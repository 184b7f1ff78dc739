#include "sonde/common/untrusted.h"

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

}  // namespace sonde
