#include "sonde/common/own_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace sonde {

Status check_own_dir(const std::string& dir, mode_t deny) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return errno_error("lstat " + dir);
  const std::string hint =
      "sonde keeps its own state there; move it aside (it is not sonde's) and run again";
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
    return Error{errc::kPermission, dir + " is not a directory (a symlink?): refused", hint};
  if (st.st_uid != ::geteuid() || (st.st_mode & deny) != 0)
    return Error{errc::kPermission,
                 fmt::format("{} belongs to uid {} with mode {:o}: not sonde's, refused", dir,
                             st.st_uid, st.st_mode & 07777),
                 hint};
  return ok_status();
}

Status make_own_dir(const std::string& dir, mode_t mode, mode_t deny,
                    const std::string& mkdir_hint) {
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    int e = errno;
    return errno_error("mkdir " + dir, e, e == EACCES || e == EPERM ? mkdir_hint : "");
  }
  return check_own_dir(dir, deny);
}

}  // namespace sonde
