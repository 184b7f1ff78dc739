// Port forwarding over SSH: one direct-tcpip channel per accepted connection,
// opened and served by sshd on the target. The libssh session may also carry
// the agent's exec channel, driven by the same thread from on_tick, so the
// session goes non-blocking only while this loop holds it, and the loop never
// waits inside libssh: it polls the session's socket with the local sockets
// and lets libssh read or write only when the kernel says it will not block.
//
// Flow control: bytes from the target are taken out of libssh only once the
// previous chunk reached the local socket, so a connection whose local peer
// does not read stops taking them, its channel window closes, and sshd stops
// sending on it alone. The other way, we write no more than the channel's
// window and stop reading the local socket while a chunk waits for it.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <list>

#include "forward_loop.h"
#include "libssh.h"
#include "sonde/common/io.h"
#include "sonde/common/log.h"
#include "ssh_connection.h"

namespace sonde::controller::fwd {
namespace {

// Packets handled per wake-up before the local sockets get their turn.
constexpr int kSshRoundsPerWake = 64;
// Chunks moved per connection per pass: a fast stream must not starve the rest.
constexpr int kChunksPerPass = 8;

struct SshConn {
  ScopedFd fd;  // the local client; invalid once both its directions are done
  ssh_channel ch = nullptr;
  bool open = false;
  Chunk up;                 // local → target
  Chunk down;               // target → local
  bool local_eof = false;   // the local client shut its write side
  bool eof_sent = false;    // ...and we passed that on as channel EOF
  bool remote_eof = false;  // the channel's EOF, after its last byte was taken
  bool local_shut = false;  // we shut the local write side after remote_eof
  bool pending = true;      // libssh may hold bytes or news for us
  bool done = false;
  int peer_port = 0;
  ssh_channel_callbacks_struct cb{};
};

// user-facing reason from libssh's "Channel opening failure: channel 3 error
// (2) Connection refused".
std::string open_failure(const char* raw) {
  std::string e = raw ? raw : "";
  auto p = e.rfind(") ");
  if (e.rfind("Channel opening failure", 0) == 0 && p != std::string::npos) e = e.substr(p + 2);
  if (!e.empty()) e[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(e[0])));
  return e.empty() ? "open failed" : e;
}

class SshForwarder : public LoopForwarder {
 public:
  SshForwarder(SshConnection& conn, ScopedFd listener, int port, const ForwardSpec& spec)
      : LoopForwarder(std::move(listener), port), conn_(conn), spec_(spec) {
    // The SSH socket carries every forwarded stream: a small reply must not
    // wait behind Nagle for the ACK of the previous packet.
    int fd = libssh().ssh_get_fd(session());
    tune_nodelay(fd);
  }

  ~SshForwarder() override {
    // Blocking again, so the closes below are flushed before the caller
    // carries on with the session.
    for (auto& c : conns_) drop(*c);
    if (event_) libssh().ssh_event_free(event_);
  }

 protected:
  void on_accept(ScopedFd fd, int peer_port) override {
    auto c = std::make_unique<SshConn>();
    c->fd = std::move(fd);
    c->peer_port = peer_port;
    c->ch = libssh().ssh_channel_new(session());
    if (!c->ch) {
      fail(*c, std::string("ssh channel: ") + libssh().ssh_get_error(session()));
      return;
    }
    ssh_callbacks_init(&c->cb);
    c->cb.userdata = c.get();
    // Only a flag: the bytes stay in libssh (and count against the window)
    // until service() has room for them. These run inside any libssh call,
    // also the Session's on on_tick.
    c->cb.channel_data_function = [](ssh_session, ssh_channel, void*, uint32_t, int,
                                     void* self) -> int {
      static_cast<SshConn*>(self)->pending = true;
      return 0;
    };
    c->cb.channel_eof_function = [](ssh_session, ssh_channel, void* self) {
      static_cast<SshConn*>(self)->pending = true;
    };
    c->cb.channel_close_function = [](ssh_session, ssh_channel, void* self) {
      static_cast<SshConn*>(self)->pending = true;
    };
    libssh().ssh_set_channel_callbacks(c->ch, &c->cb);
    conns_.push_back(std::move(c));
    open_step(*conns_.back());
  }

  Status enter() override {
    ssh_session s = session();
    if (!event_) {
      event_ = libssh().ssh_event_new();
      if (!event_) return Error{errc::kInternal, "ssh_event_new failed", {}};
    }
    if (!in_event_) {
      if (libssh().ssh_event_add_session(event_, s) != SSH_OK) return link_lost();
      in_event_ = true;
    }
    was_blocking_ = libssh().ssh_is_blocking(s);
    libssh().ssh_set_blocking(s, 0);
    return ok_status();
  }

  void leave() override {
    ssh_session s = session();
    libssh().ssh_set_blocking(s, was_blocking_);
    if (in_event_) {
      libssh().ssh_event_remove_session(event_, s);
      in_event_ = false;
    }
  }

  Status service() override {
    if (!libssh().ssh_is_connected(session())) return link_lost();
    for (auto& c : conns_) {
      if (c->done) continue;
      if (!c->open) {
        open_step(*c);
        continue;
      }
      step(*c);
    }
    conns_.remove_if([](const std::unique_ptr<SshConn>& c) { return c->done; });
    return ok_status();
  }

  void add_fds(std::vector<pollfd>& fds, bool* busy) override {
    ssh_session s = session();
    short ssh_events = POLLIN;
    if (libssh().ssh_get_poll_flags(s) & SSH_WRITE_PENDING) ssh_events |= POLLOUT;
    ssh_index_ = fds.size();
    fds.push_back({libssh().ssh_get_fd(s), ssh_events, 0});
    polled_.clear();
    for (auto& c : conns_) {
      if (!c->fd.valid() || !c->open) continue;
      short ev = 0;
      if (!c->local_eof && c->up.empty()) ev |= POLLIN;
      if (!c->down.empty()) ev |= POLLOUT;
      if (c->pending && c->down.empty() && !c->remote_eof) *busy = true;
      polled_.push_back(c.get());
      fds.push_back({c->fd.get(), ev, 0});
    }
  }

  Status handle(const std::vector<pollfd>& fds, size_t) override {
    if (fds[ssh_index_].revents) {
      // Let libssh read what the kernel has (it reads in small slices) and
      // flush what it queued; the channel callbacks mark who got bytes.
      for (int i = 0; i < kSshRoundsPerWake; ++i) {
        int rc = libssh().ssh_event_dopoll(event_, 0);
        if (rc == SSH_ERROR) return link_lost();
        if (rc != SSH_OK) break;
      }
      if (!libssh().ssh_is_connected(session())) return link_lost();
    }
    for (size_t i = 0; i < polled_.size(); ++i) {
      short re = fds[ssh_index_ + 1 + i].revents;
      if (!re) continue;
      SshConn& c = *polled_[i];
      if (re & POLLIN) read_local(c);
      if (c.done) continue;
      if (re & POLLOUT) write_local(c);
      // An error with nothing asked for: the peer reset the connection.
      if (!c.done && (re & POLLERR)) abort(c, "local connection reset");
    }
    return ok_status();
  }

 private:
  ssh_session session() { return conn_.session(); }

  static void tune_nodelay(int fd) {
    if (fd < 0) return;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  Error link_lost() {
    return Error{errc::kConnect,
                 fmt::format("the SSH connection to {} ended: {}", conn_.label(),
                             libssh().ssh_get_error(session())),
                 "the target or the network dropped it; start the forward again"};
  }

  // Opening is asynchronous: libssh answers SSH_AGAIN until sshd confirms
  // or refuses, and we ask again on every pass.
  void open_step(SshConn& c) {
    const bool unix_socket = !spec_.remote_socket.empty();
    int rc = unix_socket
                 ? libssh().ssh_channel_open_forward_unix(c.ch, spec_.remote_socket.c_str(),
                                                          "127.0.0.1", c.peer_port)
                 : libssh().ssh_channel_open_forward(c.ch, spec_.remote_host.c_str(),
                                                     spec_.remote_port, "127.0.0.1", c.peer_port);
    if (rc == SSH_AGAIN) return;
    if (rc != SSH_OK) {
      std::string why = open_failure(libssh().ssh_get_error(session()));
      // sshd answers a streamlocal channel it does not allow with a bare
      // "administratively prohibited".
      if (unix_socket && why.find("prohibited") != std::string::npos)
        why +=
            " (the target's sshd refuses Unix socket forwarding: "
            "AllowStreamLocalForwarding must be yes or local in its sshd_config)";
      fail(c, unix_socket ? fmt::format("{}: {}", spec_.remote_socket, why)
                          : fmt::format("{}:{}: {}", spec_.remote_host, spec_.remote_port, why));
      return;
    }
    c.open = true;
    c.pending = true;
    step(c);
  }

  void read_local(SshConn& c) {
    if (c.local_eof || !c.up.empty()) return;
    ssize_t n = ::recv(c.fd.get(), c.up.space(), Chunk::kCapacity, 0);
    if (n > 0) {
      c.up.filled(static_cast<size_t>(n));
      flush_up(c);
    } else if (n == 0) {
      c.local_eof = true;
      step(c);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      abort(c, std::string("local read: ") + std::strerror(errno));
    }
  }

  void write_local(SshConn& c) {
    while (!c.down.empty()) {
      ssize_t n = ::send(c.fd.get(), c.down.data(), c.down.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.down.consume(static_cast<size_t>(n));
        stats_.bytes_from_remote += static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      abort(c, std::string("local write: ") + std::strerror(errno));
      return;
    }
  }

  // Writes as much of `up` as the channel's window takes.
  void flush_up(SshConn& c) {
    while (!c.up.empty()) {
      uint32_t window = libssh().ssh_channel_window_size(c.ch);
      if (window == 0) return;
      uint32_t len = static_cast<uint32_t>(std::min<size_t>(c.up.size(), window));
      int n = libssh().ssh_channel_write(c.ch, c.up.data(), len);
      if (n == SSH_AGAIN || n == 0) return;  // key re-exchange: later
      if (n < 0) {
        abort(c, std::string("ssh write: ") + libssh().ssh_get_error(session()));
        return;
      }
      c.up.consume(static_cast<size_t>(n));
      stats_.bytes_to_remote += static_cast<uint64_t>(n);
    }
  }

  // Everything that can move without waiting for a socket.
  void step(SshConn& c) {
    if (c.done || !c.open) return;
    flush_up(c);
    if (c.done) return;
    for (int i = 0; i < kChunksPerPass && c.pending && c.down.empty() && !c.remote_eof; ++i) {
      int n = libssh().ssh_channel_read_nonblocking(c.ch, c.down.space(),
                                                    static_cast<uint32_t>(Chunk::kCapacity), 0);
      if (n > 0) {
        c.down.filled(static_cast<size_t>(n));
        if (c.fd.valid()) write_local(c);
        if (c.done) return;
        continue;
      }
      // A channel closed without EOF (the target's socket was reset) ends
      // our way in like an EOF: what came before it was delivered.
      bool ended = libssh().ssh_channel_is_eof(c.ch) || libssh().ssh_channel_is_closed(c.ch);
      if (n == SSH_EOF || (n <= 0 && ended)) {
        c.remote_eof = true;
      } else if (n < 0) {
        abort(c, std::string("ssh read: ") + libssh().ssh_get_error(session()));
        return;
      }
      c.pending = false;
    }
    if (c.local_eof && c.up.empty() && !c.eof_sent) {
      if (libssh().ssh_channel_is_open(c.ch)) libssh().ssh_channel_send_eof(c.ch);
      c.eof_sent = true;
    }
    if (c.remote_eof && c.down.empty() && !c.local_shut && c.fd.valid()) {
      ::shutdown(c.fd.get(), SHUT_WR);
      c.local_shut = true;
    }
    // Both ways finished, or the target closed the channel and its last
    // bytes were delivered: the connection is over.
    bool closed = libssh().ssh_channel_is_closed(c.ch);
    if (c.local_shut && (c.eof_sent || closed)) finish(c);
  }

  void finish(SshConn& c) {
    c.fd.reset();
    drop(c);
    c.done = true;
    closed_one();
  }

  void abort(SshConn& c, const std::string& why) {
    spdlog::debug("forward: connection from port {}: {}", c.peer_port, why);
    reset_close(c.fd);
    drop(c);
    c.done = true;
    closed_one();
  }

  void fail(SshConn& c, const std::string& why) {
    record_failure(why);
    reset_close(c.fd);
    drop(c);
    c.done = true;
    closed_one();
  }

  // Gives the channel back to libssh. Its callbacks point at c: they go first.
  void drop(SshConn& c) {
    if (!c.ch) return;
    libssh().ssh_remove_channel_callbacks(c.ch, &c.cb);
    if (c.open && libssh().ssh_channel_is_open(c.ch)) libssh().ssh_channel_close(c.ch);
    libssh().ssh_channel_free(c.ch);
    c.ch = nullptr;
  }

  SshConnection& conn_;
  ForwardSpec spec_;
  std::list<std::unique_ptr<SshConn>> conns_;
  std::vector<SshConn*> polled_;
  size_t ssh_index_ = 0;
  ssh_event event_ = nullptr;
  bool in_event_ = false;
  int was_blocking_ = 1;
};

}  // namespace

std::unique_ptr<Forwarder> make_ssh_forwarder(SshConnection& conn, ScopedFd listener, int port,
                                              const ForwardSpec& spec) {
  return std::make_unique<SshForwarder>(conn, std::move(listener), port, spec);
}

}  // namespace sonde::controller::fwd
