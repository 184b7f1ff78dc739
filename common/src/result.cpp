#include "sonde/common/result.h"

#include <cstring>

namespace sonde {

std::string Error::describe() const {
  std::string out = message;
  if (!hint.empty()) out += "\n  hint: " + hint;
  return out;
}

const char* code_for_errno(int err) {
  switch (err) {
    case ENOENT:
    case ESRCH:
      return errc::kNotFound;
    case EPERM:
    case EACCES:
      return errc::kPermission;
    case ETIMEDOUT:
      return errc::kTimeout;
    case ECANCELED:
      return errc::kCancelled;
    default:
      return errc::kIo;
  }
}

Error errno_error(const std::string& what, int err, std::string hint) {
  return Error::sys(code_for_errno(err), err, fmt::format("{}: {}", what, std::strerror(err)),
                    std::move(hint));
}

}  // namespace sonde
