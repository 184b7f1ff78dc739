// `net.speed`: the target's end of `sonde speed`. Listens on an ephemeral TCP
// port only for one test, tells the controller the port and a fresh random
// token in an event, accepts the one connection that presents the token
// (anything else is reset), runs the sender or receiver loop of net/speed.h
// and returns its own view (bytes, intervals, the sender's TCP_INFO): the
// SpeedListening event, SpeedProgress events while the test runs, and the
// SpeedResult of net/speed_contract.h.
//
// The agent otherwise never listens on a network port (DESIGN.md): this
// listener lives for at most accept_timeout_ms before the test starts and is
// closed the moment the controller's connection is in. It binds one address,
// never every interface: the one asked for ("bind"), else the one the SSH
// connection came in on, else the one the controller says it will connect
// to ("connect_to"), else loopback; when the controller's address is known
// and cannot be bound the test fails with the reason instead.

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "../handler.h"
#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/net/address.h"
#include "sonde/net/speed.h"
#include "sonde/net/speed_contract.h"

namespace sonde::agent {
namespace {

// The address the controller's SSH connection reached this host on
// (SSH_CONNECTION="client_ip client_port server_ip server_port"): the one
// address we know it can route to, and the narrowest one to listen on.
std::string ssh_server_address() {
  const char* env = std::getenv("SSH_CONNECTION");
  if (!env) return "";
  std::istringstream in(env);
  std::string client, cport, server, sport;
  if (!(in >> client >> cport >> server >> sport)) return "";
  return server;
}

bool is_wildcard(const std::string& a) {
  return a == "0.0.0.0" || a == "::" || a == "[::]" || a == "*";
}

}  // namespace

void register_net_speed(Registry& reg) {
  reg["net.speed"] = [](RequestContext& ctx) -> Result<json> {
    auto args = net::speed_args_from_json(ctx.args);
    if (!args) return args.error();
    if (auto st = net::validate(*args); !st) return st.error();
    const std::string& bind = args->bind;
    // Connecting to 0.0.0.0 reaches this host's loopback: no address of ours.
    std::string connect_to = is_wildcard(args->connect_to) ? "" : args->connect_to;

    std::vector<std::string> notes;
    std::string source = "arg";
    std::string bound;
    int port = 0;
    Result<int> lfd = Error{errc::kInternal, "no address tried", {}};
    if (!bind.empty()) {
      lfd = net::speed_listen(bind, 0, &bound, &port);
    } else {
      // SSH_CONNECTION is inherited: an agent started in another network
      // namespace (--via 'ip netns exec ...') or a container may see an
      // address it does not have; sudo drops it altogether.
      std::string ssh = ssh_server_address();
      if (!ssh.empty()) {
        source = "ssh_connection";
        lfd = net::speed_listen(ssh, 0, &bound, &port);
        if (!lfd)
          notes.push_back(
              fmt::format("SSH_CONNECTION names {}, which this host cannot listen "
                          "on ({})",
                          ssh, lfd.error().message));
      }
      if (!lfd && !connect_to.empty()) {
        source = "connect_to";
        lfd = net::speed_listen(connect_to, 0, &bound, &port);
        if (!lfd)
          return Error{errc::kConnect,
                       fmt::format("the agent cannot listen on {}, the address this machine "
                                   "connects to ({}); it listens on one address only, never "
                                   "on every interface",
                                   connect_to, lfd.error().message),
                       "that address is not the target's own (NAT, a proxy, another network "
                       "namespace): give --bind with an address the target has and --address "
                       "with where this machine reaches it"};
      }
      if (!lfd && connect_to.empty()) {
        source = "loopback";
        lfd = net::speed_listen("127.0.0.1", 0, &bound, &port);
        notes.push_back(
            "no address of this host that the controller reaches was known (no --bind, no "
            "usable SSH_CONNECTION, no address from the controller): listening on loopback "
            "only");
      }
    }
    if (!lfd) return lfd.error();
    ScopedFd listener(*lfd);
    auto token = net::random_speed_token();
    if (!token) return token.error();

    ctx.emit(net::to_json(net::SpeedListening{bound, port, source, *token}));

    net::SpeedOptions opt;
    opt.stopped = [&ctx] { return ctx.cancel.cancelled(); };
    int rejected = 0;
    auto acc = net::speed_accept(listener.get(), *token, monotonic_ms() + args->accept_timeout_ms,
                                 opt, &rejected);
    // Listening only for the test: nobody else gets in once ours is.
    listener.reset();
    if (!acc) {
      Error e = acc.error();
      if (e.code == errc::kTimeout)
        e.message = fmt::format(
            "nobody presented the test's token on {}:{} within {} ms{}", bound, port,
            args->accept_timeout_ms,
            rejected ? fmt::format(" ({} other connections reset)", rejected) : std::string());
      return e;
    }
    ScopedFd fd(acc->fd);
    const net::SpeedHeader& h = acc->header;
    if (h.direction != args->direction ||
        h.duration_ms != static_cast<uint32_t>(args->duration_ms) ||
        h.rtt_count != static_cast<uint32_t>(args->rtt_count))
      return Error{errc::kProtocol,
                   "the test connection asked for another direction, duration or count than "
                   "the request",
                   {}};
    // The controller's progress line shows our side too (the receiver's
    // count when it uploads): a small event as each phase starts and once
    // an interval, never per send or recv.
    opt.on_progress = [&ctx](const net::SpeedProgress& p) { ctx.emit(net::to_json(p)); };
    auto run = net::speed_serve(fd.get(), h, opt);
    if (!run) return run.error();

    net::SpeedResult result;
    result.agent_host = net::local_hostname();
    result.address = bound;
    result.port = port;
    result.peer = acc->peer;
    result.rejected = rejected;
    result.direction = h.direction;
    result.duration_ms = h.duration_ms;
    result.bulk = std::move(run->bulk);
    result.notes = std::move(notes);
    return net::to_json(result);
  };
}

}  // namespace sonde::agent
