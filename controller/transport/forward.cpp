// Forwarder::listen picks the way streams reach the target; the loop and the
// listener every forwarder shares live here too.
#include "forward.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "../session.h"
#include "forward_loop.h"
#include "sonde/common/io.h"
#include "sonde/common/log.h"

namespace sonde::controller {
namespace fwd {

void LoopForwarder::record_failure(const std::string& why) {
  ++stats_.failed;
  stats_.last_error = why;
  spdlog::info("forward: {}", why);
}
namespace {

constexpr long kTickMs = 200;
// A connection flood must not starve the connections already open.
constexpr int kAcceptsPerRound = 32;

}  // namespace

void tune_socket(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void reset_close(ScopedFd& fd) {
  if (!fd.valid()) return;
  linger l{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

Result<ScopedFd> bind_listener(const ForwardSpec& spec, int* port) {
  if (spec.local_port < 0 || spec.local_port > 65535)
    return Error{errc::kBadArgs, fmt::format("local port {} is not a port", spec.local_port),
                 "give --local a number from 1 to 65535, or 0 for any free port"};
  std::string host = spec.bind.empty() || spec.bind == "localhost" ? "127.0.0.1" : spec.bind;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(spec.local_port));
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(spec.local_port));
    len = sizeof *v6;
  } else {
    return Error{errc::kBadArgs, fmt::format("bind address `{}` is not an IP address", spec.bind),
                 "give --bind an address of this machine, e.g. 127.0.0.1 (the default), ::1, or "
                 "0.0.0.0 for every interface"};
  }
  ScopedFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  std::string where = ss.ss_family == AF_INET6 ? fmt::format("[{}]:{}", host, spec.local_port)
                                               : fmt::format("{}:{}", host, spec.local_port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int e = errno;
    if (e == EADDRINUSE)
      return Error::sys(errc::kBadArgs, e,
                        fmt::format("cannot listen on {}: already in use", where),
                        fmt::format("pick another port with --local PORT (0: any free port); "
                                    "`ss -ltnp 'sport = :{}'` shows who holds it",
                                    spec.local_port));
    if (e == EACCES)
      return Error::sys(errc::kPermission, e,
                        fmt::format("cannot listen on {}: permission denied", where),
                        "ports below 1024 need root: pick a higher --local PORT");
    if (e == EADDRNOTAVAIL)
      return Error::sys(errc::kBadArgs, e,
                        fmt::format("cannot listen on {}: no interface has that address", where),
                        "give --bind an address of this machine (`ip -brief address` lists them)");
    return errno_error("bind " + where, e);
  }
  if (::listen(fd.get(), 128) != 0) return errno_error("listen " + where);
  sockaddr_storage got{};
  socklen_t glen = sizeof got;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&got), &glen);
  *port = ntohs(got.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
  return fd;
}

void LoopForwarder::accept_some() {
  for (int i = 0; i < kAcceptsPerRound; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNABORTED) return;
      // Out of fds: the pending connection stays queued, and the listener
      // stays readable. Rest a tick instead of spinning on it.
      stats_.last_error = fmt::format("accept: {}", std::strerror(e));
      spdlog::warn("forward: {}", stats_.last_error);
      accept_paused_until_ = monotonic_ms() + kTickMs;
      return;
    }
    tune_socket(fd);
    int peer_port =
        ntohs(peer.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&peer)->sin6_port
                                         : reinterpret_cast<sockaddr_in*>(&peer)->sin_port);
    ++stats_.accepted;
    ++stats_.active;
    on_accept(ScopedFd(fd), peer_port);
  }
}

Status LoopForwarder::run(const std::function<bool()>& should_stop,
                          const std::function<void(const ForwardStats&)>& on_tick) {
  if (auto st = enter(); !st.ok()) return st;
  std::vector<pollfd> fds;
  long next_tick = 0;
  Status result = ok_status();
  for (;;) {
    if (interrupted() || (should_stop && should_stop())) break;
    long now = monotonic_ms();
    if (now >= next_tick) {
      if (on_tick) {
        leave();
        on_tick(stats_);
        if (auto st = enter(); !st.ok()) return st;
        if (interrupted() || (should_stop && should_stop())) break;
      }
      next_tick = monotonic_ms() + kTickMs;
    }
    if (auto st = service(); !st.ok()) {
      result = st;
      break;
    }
    fds.clear();
    bool listening = monotonic_ms() >= accept_paused_until_;
    fds.push_back({listening ? listener_.get() : -1, POLLIN, 0});
    bool busy = false;
    add_fds(fds, &busy);
    int timeout = busy ? 0 : static_cast<int>(std::max(0L, next_tick - monotonic_ms()));
    if (!listening) timeout = std::min<int>(timeout, static_cast<int>(kTickMs));
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      result = errno_error("poll");
      break;
    }
    if (n == 0 && !busy) continue;
    if (fds[0].revents & POLLIN) accept_some();
    if (auto st = handle(fds, 1); !st.ok()) {
      result = st;
      break;
    }
  }
  leave();
  return result;
}

}  // namespace fwd

Result<std::unique_ptr<Forwarder>> Forwarder::listen(Transport& t, const ForwardSpec& spec) {
  if (!spec.remote_socket.empty()) {
    if (spec.remote_socket.front() != '/' || spec.remote_socket.size() >= 108)
      return Error{
          errc::kBadArgs, fmt::format("`{}` is not a Unix socket path", spec.remote_socket), {}};
  } else if (spec.remote_port <= 0 || spec.remote_port > 65535)
    return Error{errc::kBadArgs, fmt::format("remote port {} is not a port", spec.remote_port),
                 "give a port number from 1 to 65535"};
  if (spec.remote_socket.empty() && spec.remote_host.empty())
    return Error{errc::kBadArgs, "empty remote host", "give --remote-host a name or address"};
  SshConnection* ssh = t.ssh_connection();
  if (!ssh && !t.forwards_directly())
    return Error{errc::kBadArgs,
                 fmt::format("cannot forward ports through {}: it reaches an agent's stdio, not "
                             "the target's network",
                             t.describe()),
                 "use an SSH target (forwards are SSH direct-tcpip channels), or `kubectl "
                 "port-forward` / `ssh -L` beside sonde"};
  int port = 0;
  auto listener = fwd::bind_listener(spec, &port);
  if (!listener) return listener.error();
  if (ssh) return fwd::make_ssh_forwarder(*ssh, std::move(*listener), port, spec);
  return fwd::make_direct_forwarder(std::move(*listener), port, spec);
}

}  // namespace sonde::controller
