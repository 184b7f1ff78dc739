// Must-check result type for recoverable errors. An Error keeps the code that
// travels on the wire, the errno where there was one, a message for humans and
// a hint with the next step to take.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace sonde {

// Wire error codes. Stable strings: the controller maps them to exit codes.
namespace errc {
inline constexpr const char* kProtocol = "protocol";      // malformed frame or message
inline constexpr const char* kUnknownOp = "unknown_op";   // request for an op we do not have
inline constexpr const char* kBadArgs = "bad_args";       // args of the wrong type or value
inline constexpr const char* kNotFound = "not_found";     // pid, file, host that is not there
inline constexpr const char* kPermission = "permission";  // EPERM/EACCES and friends
inline constexpr const char* kCancelled = "cancelled";    // cancel or shutdown
inline constexpr const char* kBusy = "busy";              // in use: requests in flight, a port
inline constexpr const char* kExhausted = "exhausted";    // the host gave no thread or process
inline constexpr const char* kIo = "io";                  // read/write failures
inline constexpr const char* kConnect = "connect";        // could not reach the host
inline constexpr const char* kAuth = "auth";              // SSH authentication failed
inline constexpr const char* kHostKey = "host_key";       // unknown or changed host key
inline constexpr const char* kAgent = "agent";            // agent missing, failed, died
inline constexpr const char* kTimeout = "timeout";
inline constexpr const char* kInternal = "internal";
}  // namespace errc

struct Error {
  std::string code = errc::kInternal;
  std::string message;
  std::string hint;
  int sys_errno = 0;

  static Error sys(std::string code, int err, std::string message, std::string hint = {}) {
    return Error{std::move(code), std::move(message), std::move(hint), err};
  }
  // "open /proc/42/stat: No such file or directory"
  std::string describe() const;
};

// errno → wire code: ENOENT/ESRCH are "not_found", EPERM/EACCES "permission".
const char* code_for_errno(int err);

// An Error built from errno with "what: strerror" as its message.
Error errno_error(const std::string& what, int err = errno, std::string hint = {});

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    check_ok();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check_ok();
    return std::get<0>(v_);
  }
  T&& value() && {
    check_ok();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    if (ok()) std::abort();  // internal bug: asked a success for its error
    return std::get<1>(v_);
  }

 private:
  void check_ok() const {
    if (!ok()) {
      fmt::print(stderr, "sonde: internal error: value() on failed result: {}\n",
                 std::get<1>(v_).describe());
      std::abort();
    }
  }
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() {
  return Ok{};
}

}  // namespace sonde
