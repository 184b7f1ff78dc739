// Port forwarding for the `local` target: the target is this machine, so each
// accepted connection gets a plain TCP connection to REMOTE_HOST:REMOTE_PORT
// (or a Unix socket connection to spec.remote_socket),
// connected without blocking, and bytes are relayed socket to socket in the
// same loop (and with the same half-close rules) as over SSH.
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>

#include "forward_loop.h"
#include "sonde/common/log.h"

namespace sonde::controller::fwd {
namespace {

// One way of a relayed connection: from `from` into `to` through `buf`.
struct DirectWay {
  Chunk buf;
  bool eof = false;   // `from` said EOF
  bool shut = false;  // and we shut `to`'s write side after the last byte
};

struct DirectConn {
  ScopedFd local, remote;
  bool connecting = true;
  DirectWay up, down;  // up: local → remote, down: remote → local
  bool done = false;
};

class DirectForwarder : public LoopForwarder {
 public:
  DirectForwarder(ScopedFd listener, int port, const ForwardSpec& spec, sockaddr_storage to,
                  socklen_t to_len)
      : LoopForwarder(std::move(listener), port),
        spec_(spec),
        to_(to),
        to_len_(to_len),
        where_(spec.remote_socket.empty() ? fmt::format("{}:{}", spec.remote_host, spec.remote_port)
                                          : spec.remote_socket) {}

 protected:
  void on_accept(ScopedFd fd, int) override {
    auto c = std::make_unique<DirectConn>();
    c->local = std::move(fd);
    c->remote.reset(::socket(to_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!c->remote.valid()) {
      fail(*c, std::string("socket: ") + std::strerror(errno));
      return;
    }
    tune_socket(c->remote.get());
    if (::connect(c->remote.get(), reinterpret_cast<const sockaddr*>(&to_), to_len_) == 0) {
      c->connecting = false;
    } else if (errno != EINPROGRESS) {
      fail(*c, fmt::format("{}: {}", where_, std::strerror(errno)));
      return;
    }
    conns_.push_back(std::move(c));
  }

  Status service() override {
    for (auto& c : conns_)
      if (!c->done && !c->connecting) settle(*c);
    conns_.remove_if([](const std::unique_ptr<DirectConn>& c) { return c->done; });
    return ok_status();
  }

  void add_fds(std::vector<pollfd>& fds, bool*) override {
    polled_.clear();
    for (auto& c : conns_) {
      polled_.push_back(c.get());
      if (c->connecting) {
        fds.push_back({-1, 0, 0});
        fds.push_back({c->remote.get(), POLLOUT, 0});
        continue;
      }
      fds.push_back({c->local.get(), events(c->up, c->down), 0});
      fds.push_back({c->remote.get(), events(c->down, c->up), 0});
    }
  }

  Status handle(const std::vector<pollfd>& fds, size_t first) override {
    for (size_t i = 0; i < polled_.size(); ++i) {
      DirectConn& c = *polled_[i];
      short lre = fds[first + 2 * i].revents, rre = fds[first + 2 * i + 1].revents;
      if (c.connecting) {
        if (rre) connected(c);
        continue;
      }
      if (lre & POLLIN) relay_in(c, c.local, c.up);
      if (!c.done && (rre & POLLIN)) relay_in(c, c.remote, c.down);
      if (!c.done && (lre & POLLOUT)) relay_out(c, c.down, c.local);
      if (!c.done && (rre & POLLOUT)) relay_out(c, c.up, c.remote);
      if (!c.done && ((lre | rre) & POLLERR)) abort(c);
    }
    return ok_status();
  }

 private:
  // Read `in` while its chunk is empty and it has not said EOF; write `out`
  // while its chunk holds bytes.
  static short events(const DirectWay& in, const DirectWay& out) {
    short ev = 0;
    if (!in.eof && in.buf.empty()) ev |= POLLIN;
    if (!out.buf.empty()) ev |= POLLOUT;
    return ev;
  }

  void connected(DirectConn& c) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.remote.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fail(c, fmt::format("{}: {}", where_, std::strerror(err)));
      return;
    }
    c.connecting = false;
  }

  void relay_in(DirectConn& c, ScopedFd& from, DirectWay& w) {
    if (w.eof || !w.buf.empty()) return;
    ssize_t n = ::recv(from.get(), w.buf.space(), Chunk::kCapacity, 0);
    if (n > 0) {
      w.buf.filled(static_cast<size_t>(n));
      relay_out(c, w, &w == &c.up ? c.remote : c.local);
    } else if (n == 0) {
      w.eof = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      abort(c);
      return;
    }
    if (!c.done) settle(c);
  }

  void relay_out(DirectConn& c, DirectWay& w, ScopedFd& to) {
    while (!w.buf.empty()) {
      ssize_t n = ::send(to.get(), w.buf.data(), w.buf.size(), MSG_NOSIGNAL);
      if (n > 0) {
        w.buf.consume(static_cast<size_t>(n));
        (&w == &c.up ? stats_.bytes_to_remote : stats_.bytes_from_remote) +=
            static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      abort(c);
      return;
    }
  }

  // Passes on EOFs once their way is drained; ends the connection when both
  // ways are.
  void settle(DirectConn& c) {
    if (c.up.eof && c.up.buf.empty() && !c.up.shut) {
      ::shutdown(c.remote.get(), SHUT_WR);
      c.up.shut = true;
    }
    if (c.down.eof && c.down.buf.empty() && !c.down.shut) {
      ::shutdown(c.local.get(), SHUT_WR);
      c.down.shut = true;
    }
    if (c.up.shut && c.down.shut) {
      c.local.reset();
      c.remote.reset();
      c.done = true;
      closed_one();
    }
  }

  void abort(DirectConn& c) {
    reset_close(c.local);
    reset_close(c.remote);
    c.done = true;
    closed_one();
  }

  void fail(DirectConn& c, const std::string& why) {
    record_failure(why);
    abort(c);
  }

  ForwardSpec spec_;
  sockaddr_storage to_;
  socklen_t to_len_;
  std::string where_;
  std::list<std::unique_ptr<DirectConn>> conns_;
  std::vector<DirectConn*> polled_;
};

}  // namespace

Result<std::unique_ptr<Forwarder>> make_direct_forwarder(ScopedFd listener, int port,
                                                         const ForwardSpec& spec) {
  if (!spec.remote_socket.empty()) {
    sockaddr_storage to{};
    auto* un = reinterpret_cast<sockaddr_un*>(&to);
    un->sun_family = AF_UNIX;
    if (spec.remote_socket.size() >= sizeof un->sun_path)
      return Error{errc::kBadArgs, "Unix socket path too long: " + spec.remote_socket, {}};
    std::memcpy(un->sun_path, spec.remote_socket.c_str(), spec.remote_socket.size() + 1);
    return std::unique_ptr<Forwarder>(
        new DirectForwarder(std::move(listener), port, spec, to, sizeof(sockaddr_un)));
  }
  // Resolved once: the target is this machine, and a name that does not
  // resolve here is an error now rather than on every connection.
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(spec.remote_host.c_str(), std::to_string(spec.remote_port).c_str(), &hints,
                         &res);
  if (rc != 0 || !res)
    return Error{
        errc::kNotFound,
        fmt::format("cannot resolve remote host `{}`: {}", spec.remote_host, ::gai_strerror(rc)),
        "check the name given to --remote-host (default 127.0.0.1)"};
  sockaddr_storage to{};
  std::memcpy(&to, res->ai_addr, res->ai_addrlen);
  socklen_t len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return std::unique_ptr<Forwarder>(new DirectForwarder(std::move(listener), port, spec, to, len));
}

}  // namespace sonde::controller::fwd
