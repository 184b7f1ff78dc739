// Port forwarding through a target: a local listener whose every accepted
// connection gets its own stream to REMOTE_HOST:REMOTE_PORT as the target
// sees it, or to a Unix socket on the target. Over SSH that stream is a
// direct-tcpip (or direct-streamlocal) channel opened by sshd (the agent
// plays no part); for `local` it is a plain connection. One thread, one
// non-blocking event loop: a slow or stuck connection never stalls another.
// Used by `sonde forward`, `sonde debug` (gdbserver) and `sonde jvm debug|jmx`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sonde/common/result.h"
#include "transport.h"

namespace sonde::controller {

struct ForwardSpec {
  std::string bind = "127.0.0.1";         // another address only on explicit request
  int local_port = 0;                     // 0: the kernel picks one
  std::string remote_host = "127.0.0.1";  // resolved on the target's side
  int remote_port = 0;
  // A Unix socket on the target instead of REMOTE_HOST:REMOTE_PORT (sshd's
  // AllowStreamLocalForwarding must allow it). sshd connects as the login
  // user, so the socket must be open to that user.
  std::string remote_socket;
};

struct ForwardStats {
  uint64_t accepted = 0;  // connections accepted so far
  uint64_t active = 0;    // open now
  uint64_t failed = 0;    // the remote side refused or could not be reached
  uint64_t bytes_to_remote = 0;
  uint64_t bytes_from_remote = 0;
  std::string last_error;  // why the last connection failed, for the status line
};

class Forwarder {
 public:
  // Binds spec.bind:spec.local_port and prepares to open streams through t
  // (an SSH transport, or `local`). Errors: address in use (with a hint),
  // a transport that cannot forward (--via), ...
  static Result<std::unique_ptr<Forwarder>> listen(Transport& t, const ForwardSpec& spec);
  // Closes the listener and every connection. A Forwarder uses its
  // transport's SSH session to the end: destroy it before the transport
  // (declare it after the Session that owns that transport).
  virtual ~Forwarder() = default;

  virtual int local_port() const = 0;
  virtual const ForwardStats& stats() const = 0;

  // Serves until should_stop() returns true, Ctrl-C (interrupted()), or the
  // transport fails. on_tick runs on this thread at least every 200 ms; it may
  // use the Session on the same transport (e.g. Session::poll).
  virtual Status run(const std::function<bool()>& should_stop,
                     const std::function<void(const ForwardStats&)>& on_tick) = 0;
};

}  // namespace sonde::controller
