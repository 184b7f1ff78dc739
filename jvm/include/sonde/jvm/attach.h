// The HotSpot dynamic attach protocol, spoken natively (no jcmd needed on the
// target). A JVM opens its attach socket, /tmp/.java_pid<NSPID> in its own
// mount namespace, when it receives SIGQUIT and finds a file .attach_pid<NSPID>
// in its working directory or /tmp. A request is "1\0" (protocol version),
// the command and exactly three arguments, each NUL-terminated; the reply is
// a status line (0 = ok) and then the command's output, until the JVM closes
// the connection. The JVM accepts a peer whose effective uid and gid are its
// own (or root), and ignores an attach file owned by another user.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sonde/common/cancel.h"
#include "sonde/common/result.h"

namespace sonde::jvm {

struct AttachReply {
  int status = -1;          // the first line: 0 success, else the JVM's error code
  std::string output;       // everything after it, up to AttachOptions::max_reply_bytes
  uint64_t more_bytes = 0;  // reply bytes read past that cap and dropped
};

// Raw reply bytes → status and output. Errors on an empty or non-numeric
// first line (not an attach reply).
Result<AttachReply> parse_attach_reply(std::string_view raw);

// The request bytes: "1\0cmd\0a0\0a1\0a2\0", missing arguments empty.
// Errors for more than three arguments or a NUL inside one.
Result<std::string> encode_attach_request(const std::string& cmd,
                                          const std::vector<std::string>& args);

// The agent's return code from a `load` reply's output ("return code: 0" on
// JDK 9+, a bare number before); nullopt when it says neither.
std::optional<int> parse_load_return_code(std::string_view output);

struct AttachOptions {
  long connect_timeout_ms = 10000;  // for the JVM to open its socket after SIGQUIT
  long reply_timeout_ms = 120000;   // for the command's whole reply
  // Kept of a reply; the rest is read to the end (so the JVM finishes its
  // command undisturbed) and only counted. A thread dump of a JVM with
  // thousands of deep threads runs to tens of MB; 8 MiB fits one frame.
  size_t max_reply_bytes = 8u << 20;
};

// A reply as read off the socket: the kept bytes and how many followed.
struct RawReply {
  std::string bytes;
  uint64_t more_bytes = 0;
};

// Reads fd until EOF, keeping opts.max_reply_bytes and counting the rest.
// Errors: the reply_timeout_ms passed (kTimeout, naming `what`), a read
// error, a cancel. Counting stops after kMaxDrainBytes, which ends the read.
inline constexpr uint64_t kMaxDrainBytes = 1ull << 30;
Result<RawReply> read_attach_reply(int fd, const AttachOptions& opts, CancelToken* cancel,
                                   const std::string& what);

// Runs one attach command in JVM pid. Triggers the attach listener when its
// socket is not there yet (after check_hotspot), waits for it bounded by
// connect_timeout_ms, and reads the reply. cancel (may be null) ends waits
// early. When the agent is root and the JVM is not, the calling thread alone
// takes the JVM's effective uid/gid for the duration (the file the JVM checks
// and the socket peer must be that user).
Result<AttachReply> attach_execute(pid_t pid, const std::string& cmd,
                                   const std::vector<std::string>& args,
                                   const AttachOptions& opts = {}, CancelToken* cancel = nullptr);

// attach_execute("jcmd", {line}); a non-zero status becomes an Error whose
// message is the JVM's text. more_bytes (may be null) gets the reply bytes
// left out past opts.max_reply_bytes.
Result<std::string> jcmd(pid_t pid, const std::string& line, const AttachOptions& opts = {},
                         CancelToken* cancel = nullptr, uint64_t* more_bytes = nullptr);

// Where the JVM's files live as seen from the agent: /proc/PID/root/tmp.
std::string jvm_tmp_dir(pid_t pid);
std::string attach_socket_path(pid_t pid, pid_t nspid);

// The attach socket checked as the JDK's attach client checks it before
// talking to it: lstat (a symlink is not followed), a socket, owned by the
// JVM's effective user euid, no access for group or others. kNotFound when
// there is none or we cannot see it; kPermission, naming the owner or mode, when another user
// could have planted it.
Status check_attach_socket(const std::string& path, uid_t euid);

}  // namespace sonde::jvm
