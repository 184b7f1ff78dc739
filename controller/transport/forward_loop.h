// The part of a port forward that does not depend on how streams reach the
// target: the local listener, the stats, and the single-threaded poll loop
// that the SSH (forward_ssh.cpp) and direct (forward_direct.cpp) forwarders
// plug their connections into.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "forward.h"
#include "sonde/common/fd.h"

namespace sonde::controller {

class SshConnection;

namespace fwd {

// Bytes of one direction in flight. Refilled only once empty, so nothing is
// ever moved; the memory comes on first use and stays with the connection.
class Chunk {
 public:
  static constexpr size_t kCapacity = 128 * 1024;
  bool empty() const { return head_ == tail_; }
  size_t size() const { return tail_ - head_; }
  const char* data() const { return buf_.get() + head_; }
  char* space() {
    if (!buf_) buf_.reset(new char[kCapacity]);
    return buf_.get();
  }
  void filled(size_t n) { head_ = 0, tail_ = n; }
  void consume(size_t n) {
    head_ += n;
    if (head_ == tail_) head_ = tail_ = 0;
  }

 private:
  std::unique_ptr<char[]> buf_;
  size_t head_ = 0, tail_ = 0;
};

// The poll loop: accepts, asks the subclass which fds to watch, dispatches
// their events, and calls on_tick on time. Subclasses own the connections.
class LoopForwarder : public Forwarder {
 public:
  LoopForwarder(ScopedFd listener, int port) : listener_(std::move(listener)), port_(port) {}
  int local_port() const override { return port_; }
  const ForwardStats& stats() const override { return stats_; }
  Status run(const std::function<bool()>& should_stop,
             const std::function<void(const ForwardStats&)>& on_tick) final;

 protected:
  // A new local connection: non-blocking, TCP_NODELAY set.
  virtual void on_accept(ScopedFd fd, int peer_port) = 0;
  // Progress that needs no fd event (buffered bytes, channel state). An
  // error ends run(): the transport is gone.
  virtual Status service() = 0;
  // Appends the fds to watch; *busy when service() has work right now.
  virtual void add_fds(std::vector<pollfd>& fds, bool* busy) = 0;
  // Events for the fds add_fds appended, which start at fds[first].
  virtual Status handle(const std::vector<pollfd>& fds, size_t first) = 0;
  // Around the loop and around on_tick: the SSH forwarder runs libssh
  // non-blocking for itself and hands the session back as it found it.
  virtual Status enter() { return ok_status(); }
  virtual void leave() {}

  void closed_one() { --stats_.active; }
  // A connection the target refused or could not reach: counted, kept as
  // the status line's reason, logged. The caller closes the connection.
  void record_failure(const std::string& why);
  ForwardStats stats_;

 private:
  void accept_some();
  ScopedFd listener_;
  int port_;
  long accept_paused_until_ = 0;
};

// Binds spec.bind:spec.local_port, listening, non-blocking; *port is the
// bound port. Errors say what holds the port or why the address is wrong.
Result<ScopedFd> bind_listener(const ForwardSpec& spec, int* port);
// Non-blocking, TCP_NODELAY (small messages must not wait for Nagle).
void tune_socket(int fd);
// Shuts a failed connection down without TIME_WAIT noise: the peer sees a
// reset, which says "the other side is not there" better than a clean EOF.
void reset_close(ScopedFd& fd);

std::unique_ptr<Forwarder> make_ssh_forwarder(SshConnection& conn, ScopedFd listener, int port,
                                              const ForwardSpec& spec);
Result<std::unique_ptr<Forwarder>> make_direct_forwarder(ScopedFd listener, int port,
                                                         const ForwardSpec& spec);

}  // namespace fwd
}  // namespace sonde::controller
