// sonde speed TARGET [--duration 10s] [--reverse|--both]: throughput and
// round-trip time between this machine and the target, over a direct TCP
// connection to a port the agent opens for the test only, and through the
// SSH connection (a direct-tcpip channel to the agent's loopback listener),
// side by side. The loops are net/speed.h; the agent's end is net.speed.
//
// One agent request per path and direction, one after the other (two tests
// at once would share the link and halve each other).
//
// --json prints {"target", "transport", "agent_host", "duration_ms",
// "rtt_count", "ok": bool, "summary": one line, "paths": [...]}, each path
// {"path": "direct"|"ssh", "direction": "upload"|"download", "status":
// "ok"|"failed"|"n/a", "address", "agent_listen", and when ok: "gbps",
// "bytes", "seconds" (the receiver's), "retransmits" (the sender's; null
// where we cannot see it), "rtt": {count, min_us, median_us, p90_us, max_us,
// mean_us}, "tcp_info": {total_retrans, rtt_us, rttvar_us, snd_cwnd, snd_mss,
// pmtu}, "tcp_info_from", "controller" and "agent" (each side's own view:
// role, bytes, seconds, gbps, intervals, peer_bytes, tcp_info), "notes";
// when failed: "reason", "hint", "code"; when n/a: "reason"}.
// Exit 0 when every path that applies was measured, 1 when one failed.
//
// While a test runs, stderr shows where it is (SpeedStatus below), never
// stdout: --json output stays one document.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "../cli/command.h"
#include "../cli/status_line.h"
#include "../transport/forward.h"
#include "../transport/libssh.h"
#include "../transport/ssh_connection.h"
#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/net/address.h"
#include "sonde/net/speed.h"
#include "sonde/net/speed_contract.h"
#include "sonde/net/speed_report.h"
#include "sonde/render/speed.h"
#include "sonde/render/table.h"

namespace sonde::controller {
namespace {

struct SpeedPlan {
  long duration_ms = 10000;
  long rtt_count = 100;
  long timeout_ms = 5000;  // the direct connect
  std::string address;     // where to connect for the direct path; empty: find out
  std::string bind;        // where the agent listens for the direct path; empty: its choice
  bool address_from_agent = false;  // --via without --address: the agent's own address
  bool intervals = false;           // a line per second on stdout
  bool json = false;
  bool ssh_follows = false;  // the SSH path is measured after the direct one
};

struct SpeedEndpoint {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string text;
};

// Where the tests are, on stderr (cli/status_line.h): which test, its phase,
// bytes and rate at this end and, from the agent's progress events, at the
// other. On a terminal the line is redrawn in place as it changes. In a log
// it is a line as each test connects, starts its bulk phase and ends, and one
// every kPlainLineMs between; with --intervals (its lines on stdout already
// say every second) only as each test connects and ends. A fleet host's
// captured stderr gets none of it: the fleet has its own progress line.
class SpeedStatus {
 public:
  static constexpr long kPlainLineMs = 5000;
  static constexpr long kRedrawMs = 200;

  SpeedStatus(FILE* err, const SpeedPlan& plan)
      : line_(err),
        shown_(err == stderr),
        in_place_(line_.tty() && !plan.intervals),
        quiet_(plan.intervals) {
    live_.duration_ms = plan.duration_ms;
    live_.rtt_count = plan.rtt_count;
  }

  // A new test, and what it waits for first (only a terminal shows that).
  void begin(const std::string& label, const std::string& step) {
    live_ = render::SpeedLive{label, live_.duration_ms, live_.rtt_count, step, {}, {}};
    if (in_place_) draw();
  }
  // Its connection is being made: shown everywhere.
  void connecting(const std::string& step) {
    live_.step = step;
    draw();
  }
  void mine(const net::SpeedProgress& p) {
    bool new_phase = !live_.mine || live_.mine->phase != p.phase;
    live_.mine = p;
    long now = monotonic_ms();
    if (in_place_) {
      if (new_phase || now - shown_ms_ >= kRedrawMs) draw();
    } else if (!quiet_) {
      // The round trips and the wait for the receiver's count mostly take
      // milliseconds: a line of their own only when they last.
      if ((new_phase && p.phase == net::SpeedPhase::kBulk) || now - shown_ms_ >= kPlainLineMs)
        draw();
    }
  }
  // Shown with this end's next update.
  void agent(const net::SpeedProgress& p) { live_.agent = p; }
  void done(const net::SpeedPath& p) {
    if (shown_) line_.show(render::render_speed_done(p), true);
  }
  void end() { line_.end(); }

  // The agent's events of a test: progress goes to agent(); any other kind
  // (the listening event came before) is skipped.
  EventHandler agent_events() {
    return [this](const json& e) -> Status {
      if (net::speed_event_kind(e) != "progress") return ok_status();
      // The line is the only reader: one that does not read is left out
      // rather than failing the test (the result is read strictly).
      if (auto p = net::speed_progress_from_json(e)) agent(*p);
      return ok_status();
    };
  }

 private:
  void draw() {
    if (!shown_) return;
    line_.show(render::render_speed_progress(live_), !in_place_);
    shown_ms_ = monotonic_ms();
  }

  StatusLine line_;
  bool shown_;
  bool in_place_;
  bool quiet_;
  render::SpeedLive live_;
  long shown_ms_ = 0;
};

Result<SpeedEndpoint> resolve(const std::string& host, int port) {
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(h.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0 || !res)
    return Error{errc::kConnect, fmt::format("cannot resolve `{}`: {}", host, gai_strerror(rc)),
                 "give --address an IP address of the target"};
  SpeedEndpoint e;
  std::memcpy(&e.ss, res->ai_addr, res->ai_addrlen);
  e.len = res->ai_addrlen;
  char buf[NI_MAXHOST] = {};
  ::getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST);
  e.text = net::host_port(buf, port);
  ::freeaddrinfo(res);
  return e;
}

// A connect that says which of the ladder's failures it met: refused (RST:
// a REJECT rule or nothing listening), no answer (a DROP rule), unreachable.
Result<ScopedFd> connect_classified(const SpeedEndpoint& to, long timeout_ms,
                                    const std::string& more = "") {
  ScopedFd fd(::socket(to.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket");
  int err = 0;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to.ss), to.len) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      long deadline = monotonic_ms() + timeout_ms;
      err = ETIMEDOUT;
      while (!interrupted()) {
        long left = deadline - monotonic_ms();
        if (left <= 0) break;
        pollfd p{fd.get(), POLLOUT, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::min(left, 200L)));
        if (n > 0) {
          socklen_t l = sizeof err;
          ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &l);
          break;
        }
      }
      if (interrupted()) return Error{errc::kCancelled, "interrupted", {}};
    }
  }
  if (err == ETIMEDOUT)
    return Error::sys(
        errc::kTimeout, err,
        fmt::format("{}: no answer to the connection within {} ms (timeout)", to.text, timeout_ms),
        "packets to that port are dropped on the way, typically by a firewall between here "
        "and the target" +
            more);
  if (err == ECONNREFUSED)
    return Error::sys(errc::kConnect, err, fmt::format("{}: connection refused", to.text),
                      "a firewall REJECTs the port, or the address is another host's" + more);
  if (err == EHOSTUNREACH || err == ENETUNREACH)
    return Error::sys(errc::kConnect, err,
                      fmt::format("{}: unreachable ({})", to.text, std::strerror(err)),
                      "no route from here to that address, or a firewall answers "
                      "host-unreachable; give --address another of the target's addresses");
  if (err != 0)
    return Error::sys(errc::kConnect, err, fmt::format("{}: {}", to.text, std::strerror(err)));
  // The loops use blocking IO with timeouts.
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

// The numeric address this SSH connection reached: where a direct
// connection to the same host should go.
std::string ssh_peer_address(SshConnection& conn) {
  int sfd = libssh().ssh_get_fd(conn.session());
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (sfd < 0 || ::getpeername(sfd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  char buf[NI_MAXHOST] = {};
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, buf, sizeof buf, nullptr, 0,
                    NI_NUMERICHOST) != 0)
    return "";
  std::string a = buf;
  if (a.rfind("::ffff:", 0) == 0 && a.find('.') != std::string::npos) a = a.substr(7);
  return a;
}

// Without blocking: hands the request's events to on_event and, once it has
// ended, keeps its answer (the agent's view, or why it failed) in *answer.
void poll_answer(Session& s, uint64_t id, const EventHandler& on_event, bool* answered,
                 Result<json>* answer) {
  if (*answered) return;
  auto r = s.poll(id, on_event);
  if (!r) {
    *answer = r.error();
    *answered = true;
  } else if (*r) {
    *answer = std::move(**r);
    *answered = true;
  }
}

// Ends a request whose test will not happen, and takes its answer.
void cancel_and_reap(Session& s, uint64_t id) {
  (void)s.cancel(id);
  (void)s.wait(id, {}, 5000, 2000);
}

// Waits for net.speed's "listening" event. An error when the request ended
// first (the agent could not listen), the event does not read, or Ctrl-C.
Result<net::SpeedListening> wait_listening(Session& s, uint64_t id) {
  std::optional<net::SpeedListening> ev;
  bool malformed = false;
  auto on_event = [&](const json& e) -> Status {
    // A kind this controller does not know is a newer agent's: skipped.
    if (std::string kind = net::speed_event_kind(e); !kind.empty() && kind != "listening")
      return ok_status();
    auto l = net::speed_listening_from_json(e);
    if (!l) {
      malformed = true;
      return l.error();
    }
    ev = *l;
    return ok_status();
  };
  long deadline = monotonic_ms() + 30000;
  for (;;) {
    auto r = s.poll(id, on_event);
    if (!r) {
      // An event that does not read leaves the request running on the agent.
      if (malformed) cancel_and_reap(s, id);
      return r.error();
    }
    if (ev) return *ev;
    if (*r) return Error{errc::kAgent, "the agent ended the test before it listened", {}};
    if (interrupted()) {
      (void)s.cancel(id);
      (void)s.wait(id, {}, 5000);
      return Error{errc::kCancelled, "interrupted", {}};
    }
    if (monotonic_ms() > deadline)
      return Error{errc::kTimeout, "the agent did not open its listener within 30 s", {}};
    ::usleep(2000);
  }
}

net::SpeedOptions client_options(const SpeedPlan& plan, const std::string& label,
                                 const std::function<bool()>& stop) {
  net::SpeedOptions opt;
  opt.stopped = stop;
  if (plan.intervals && !plan.json)
    opt.on_interval = [label](const net::SpeedInterval& iv) {
      std::fputs(render::render_speed_interval(label, iv).c_str(), stdout);
      std::fflush(stdout);
    };
  return opt;
}

net::SpeedPath base(const char* path, net::SpeedDirection dir) {
  net::SpeedPath p;
  p.path = path;
  p.direction = dir;
  return p;
}

// The path with e as why it was not measured.
net::SpeedPath failed(net::SpeedPath p, const Error& e) {
  net::set_failed(p, e);
  return p;
}

json request_args(const SpeedPlan& plan, net::SpeedDirection dir, const std::string& bind,
                  long accept_timeout_ms, const std::string& connect_to = "") {
  return net::to_json(
      net::SpeedArgs{dir, plan.duration_ms, plan.rtt_count, accept_timeout_ms, bind, connect_to});
}

// The numeric address a name resolves to here, "" when it does not: the
// agent can bind that one (when it is the target's own) instead of every
// interface.
std::string numeric_address(const std::string& host) {
  if (host.empty()) return "";
  auto e = resolve(host, 0);
  if (!e) return "";
  std::string t = e->text.substr(0, e->text.rfind(':'));
  if (t.size() > 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
  return t;
}

net::SpeedHeader header_for(const SpeedPlan& plan, net::SpeedDirection dir,
                            const net::SpeedListening& ev) {
  net::SpeedHeader h;
  h.token = ev.token;
  h.direction = dir;
  h.duration_ms = static_cast<uint32_t>(plan.duration_ms);
  h.rtt_count = static_cast<uint32_t>(plan.rtt_count);
  return h;
}

// Direct TCP from here to the agent's listener on the target's address.
net::SpeedPath run_direct(Session& s, const SpeedPlan& plan, net::SpeedDirection dir,
                          SpeedStatus& status) {
  net::SpeedPath p = base("direct", dir);
  std::string label = fmt::format("direct {}", net::direction_name(dir));
  status.begin(label, "asking the agent to listen");
  auto id = s.send_request("net.speed", request_args(plan, dir, plan.bind, plan.timeout_ms + 15000,
                                                     numeric_address(plan.address)));
  if (!id) return failed(p, id.error());
  auto ev = wait_listening(s, *id);
  if (!ev) return failed(p, ev.error());
  p.agent_listen = net::host_port(ev->address, ev->port);
  std::string host = plan.address;
  // Only an address the agent was told or saw its SSH connection come in on
  // says where it is; its loopback is its own, not ours.
  if (host.empty() && plan.address_from_agent &&
      (ev->bind_source == "arg" || ev->bind_source == "ssh_connection"))
    host = ev->address;
  if (host.empty()) {
    cancel_and_reap(s, *id);
    return failed(p, Error{errc::kBadArgs,
                           "no address to reach the target at: --via does not say which host "
                           "the agent is on, and it listens on its loopback only",
                           "give --address HOST (an address of the target this machine can "
                           "reach)"});
  }
  net::SpeedHeader h = header_for(plan, dir, *ev);
  auto to = resolve(host, ev->port);
  if (!to) {
    cancel_and_reap(s, *id);
    return failed(p, to.error());
  }
  p.address = to->text;
  status.connecting("connecting to " + to->text);
  auto fd = connect_classified(*to, plan.timeout_ms,
                               plan.ssh_follows ? "; the SSH path still measures" : "");
  if (!fd) {
    cancel_and_reap(s, *id);
    return failed(p, fd.error());
  }
  net::SpeedOptions opt = client_options(plan, label, [] { return interrupted(); });
  // The loop runs on this thread, so the agent's events are read here, as
  // each phase starts and once a second: never per send or recv. An answer
  // that comes meanwhile (the agent failed) is kept for below.
  bool answered = false;
  Result<json> answer = Error{errc::kInternal, "no answer", {}};
  const EventHandler agent_events = status.agent_events();
  opt.on_progress = [&](const net::SpeedProgress& pr) {
    poll_answer(s, *id, agent_events, &answered, &answer);
    status.mine(pr);
  };
  auto run = net::speed_client(fd->get(), h, opt);
  fd->reset();
  if (!run) {
    if (!answered) cancel_and_reap(s, *id);
    // The agent's reason is the better one when it failed first.
    if (answered && !answer.ok()) return failed(p, answer.error());
    return failed(p, run.error());
  }
  if (!answered) answer = s.wait(*id, agent_events, 30000);
  auto agent = read_reply(answer, net::speed_result_from_json);
  if (!agent) return failed(p, agent.error());
  net::set_figures(p, dir, *run, *agent, true);
  return p;
}

// Through the SSH connection: a direct-tcpip channel to the agent's listener
// on the target's 127.0.0.1, opened by sshd.
//
// libssh is not thread-safe per session, and the agent's exec channel and the
// test's channel share one session. So this thread owns libssh throughout: it
// runs a Forwarder (the same non-blocking loop as `sonde forward`, which
// matches ssh -L) from a throwaway 127.0.0.1 port to the agent's, and polls
// the agent's request from the loop's tick. The measurement itself runs on a
// second thread that only ever touches a plain loopback socket into that
// forwarder. The loopback hop costs a copy, the same for both directions, and
// is small next to the SSH cipher.
net::SpeedPath run_ssh(Session& s, const SpeedPlan& plan, net::SpeedDirection dir,
                       SshConnection& conn, SpeedStatus& status) {
  net::SpeedPath p = base("ssh", dir);
  std::string label = fmt::format("ssh {}", net::direction_name(dir));
  status.begin(label, "asking the agent to listen");
  auto id = s.send_request("net.speed", request_args(plan, dir, "127.0.0.1", 20000));
  if (!id) return failed(p, id.error());
  auto ev = wait_listening(s, *id);
  if (!ev) return failed(p, ev.error());
  p.agent_listen = net::host_port(ev->address, ev->port);
  p.address = fmt::format("{} -> 127.0.0.1:{}", conn.label(), ev->port);
  status.connecting(fmt::format("through {} to the agent's 127.0.0.1:{}", conn.label(), ev->port));
  net::SpeedHeader h = header_for(plan, dir, *ev);
  ForwardSpec spec;
  spec.remote_port = ev->port;
  auto fw = Forwarder::listen(s.transport(), spec);
  if (!fw) {
    cancel_and_reap(s, *id);
    return failed(p, fw.error());
  }
  const int ssh_fd = libssh().ssh_get_fd(conn.session());
  const net::TcpInfo ssh_before = net::read_tcp_info(ssh_fd);

  std::atomic<bool> stop{false}, done{false};
  Result<net::SpeedRun> run = Error{errc::kInternal, "the test did not run", {}};
  net::SpeedOptions opt = client_options(plan, label, [&stop] { return stop.load(); });
  // The measurer only queues its progress (a few items a second); this
  // thread shows it from the loop's tick, with the agent's events.
  std::mutex progress_mu;
  std::vector<net::SpeedProgress> progress;
  opt.on_progress = [&](const net::SpeedProgress& pr) {
    std::lock_guard<std::mutex> g(progress_mu);
    progress.push_back(pr);
  };
  auto drain_progress = [&] {
    std::vector<net::SpeedProgress> mine;
    {
      std::lock_guard<std::mutex> g(progress_mu);
      mine.swap(progress);
    }
    for (const auto& pr : mine) status.mine(pr);
  };
  const EventHandler agent_events = status.agent_events();
  const int local_port = (*fw)->local_port();
  std::thread measurer([&] {
    auto to = resolve("127.0.0.1", local_port);
    auto fd = to ? connect_classified(*to, 5000) : Result<ScopedFd>(to.error());
    run = fd ? net::speed_client(fd->get(), h, opt) : Result<net::SpeedRun>(fd.error());
    done = true;
  });

  bool agent_done = false;
  Result<json> agent = Error{errc::kInternal, "no answer", {}};
  long deadline = monotonic_ms() + plan.duration_ms + 60000;
  auto st = (*fw)->run(
      [&] {
        // The agent's answer comes after the test's last bytes went both
        // ways (its trailer travels through this loop): wait for both,
        // unless the measurement failed and the agent may wait in vain.
        return done && (agent_done || stop || !run.ok());
      },
      [&](const ForwardStats& fs) {
        if (!agent_done) {
          poll_answer(s, *id, agent_events, &agent_done, &agent);
          if (agent_done && !agent.ok()) stop = true;
        }
        if (fs.failed) stop = true;  // sshd would not open the channel
        if (monotonic_ms() > deadline) stop = true;
        drain_progress();
      });
  if (interrupted() || !st.ok()) stop = true;
  const ForwardStats fs = (*fw)->stats();
  fw->reset();  // resets the measurer's connection if it is still open
  measurer.join();
  const net::TcpInfo ssh_after = net::read_tcp_info(ssh_fd);

  if (!st.ok()) {
    if (!agent_done) cancel_and_reap(s, *id);
    return failed(p, st.error());
  }
  if (fs.failed) {
    if (!agent_done) cancel_and_reap(s, *id);
    return failed(p, Error{errc::kConnect,
                           "sshd did not open the channel to the agent's port: " + fs.last_error,
                           "the target's sshd may forbid forwarding (AllowTcpForwarding no)"});
  }
  if (!run) {
    if (!agent_done) cancel_and_reap(s, *id);
    // The agent's reason is the better one when it failed first.
    if (agent_done && !agent.ok()) return failed(p, agent.error());
    return failed(p, run.error());
  }
  if (!agent_done) agent = s.wait(*id, agent_events, 30000);
  auto view = read_reply(agent, net::speed_result_from_json);
  if (!view) return failed(p, view.error());
  net::set_figures(p, dir, *run, *view, false);
  // The test's own sockets are loopback ones at both ends; the link's TCP
  // figures are the SSH connection's, seen from here (its sender when
  // uploading; downloading, sshd on the target sends and we see no
  // retransmits).
  if (ssh_after.valid) {
    p.tcp_info = ssh_after;
    p.tcp_info_from = "controller's SSH socket";
    if (dir == net::SpeedDirection::kUpload)
      p.retransmits = ssh_after.total_retrans - ssh_before.total_retrans;
  }
  return p;
}

}  // namespace

CommandSpec speed_command() {
  CommandSpec c;
  c.name = "speed";
  c.summary =
      "throughput and round-trip time to the target, over direct TCP and through SSH, side by "
      "side";
  c.synopsis =
      "speed TARGET [--duration 10s] [--reverse | --both] [--rtt-count N] [--timeout 5s] "
      "[--address HOST] [--bind ADDR] [--intervals]";
  c.options = [](po::options_description& o) {
    o.add_options()("duration", po::value<std::string>()->default_value("10s"),
                    "how long each test sends (100ms..300s)")(
        "reverse,R", po::bool_switch(), "the target sends, this machine receives (iperf3 -R)")(
        "both", po::bool_switch(), "upload, then download")(
        "rtt-count", po::value<long>()->default_value(100),
        "small round trips timed before each test (0..100000)")(
        "timeout", po::value<std::string>()->default_value("5s"),
        "how long the direct connection may take before it counts as dropped")(
        "address", po::value<std::string>(),
        "connect here for the direct path (default: the address the SSH connection reached; "
        "needed with --via)")(
        "bind", po::value<std::string>(),
        "the target address the agent listens on for the direct path (default: the one in "
        "its SSH_CONNECTION, else every address)")(
        "intervals", po::bool_switch(), "print a line per second of each test (also with -v)");
  };
  c.run = [](CommandContext& ctx) -> int {
    SpeedPlan plan;
    auto dur = parse_duration_ms(ctx.vm["duration"].as<std::string>());
    if (!dur)
      return ctx.fail(Error{errc::kBadArgs, "--duration is not a duration", "e.g. --duration 10s"});
    plan.duration_ms = *dur;
    plan.rtt_count = ctx.vm["rtt-count"].as<long>();
    auto tmo = parse_duration_ms(ctx.vm["timeout"].as<std::string>());
    if (!tmo || *tmo < 100 || *tmo > 120000)
      return ctx.fail(Error{errc::kBadArgs, "--timeout must be 100ms..120s", "e.g. --timeout 3s"});
    plan.timeout_ms = *tmo;
    if (ctx.vm["reverse"].as<bool>() && ctx.vm["both"].as<bool>())
      return ctx.fail(Error{errc::kBadArgs, "--reverse and --both exclude each other",
                            "--both already runs the reverse direction"});
    std::vector<net::SpeedDirection> dirs = {net::SpeedDirection::kUpload};
    if (ctx.vm["reverse"].as<bool>()) dirs = {net::SpeedDirection::kDownload};
    if (ctx.vm["both"].as<bool>()) dirs.push_back(net::SpeedDirection::kDownload);
    plan.intervals = ctx.vm["intervals"].as<bool>() || ctx.g.verbosity > 0;
    plan.json = ctx.g.json;
    if (ctx.vm.count("bind")) plan.bind = ctx.vm["bind"].as<std::string>();
    const bool local =
        ctx.g.via.empty() && (ctx.target == "local" || ctx.target == "localhost-agent");
    if (ctx.vm.count("address")) {
      plan.address = ctx.vm["address"].as<std::string>();
    } else if (local) {
      plan.address = "127.0.0.1";
    } else if (!ctx.g.via.empty()) {
      plan.address_from_agent = true;
    }
    // The local agent listens where we connect, not on every interface.
    if (local && plan.bind.empty() && !ctx.vm.count("address")) plan.bind = "127.0.0.1";
    // What holds for every request this run makes. The bind address and the
    // direct path's accept timeout are the agent's to judge: refusing them
    // fails the direct path only, and the SSH path still runs.
    if (auto st =
            net::validate(net::SpeedArgs{dirs[0], plan.duration_ms, plan.rtt_count, 20000, "", ""});
        !st)
      return ctx.fail(st.error());

    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    Session& session = **s;
    SshConnection* ssh = session.transport().ssh_connection();
    if (ssh && plan.address.empty()) {
      plan.address = ssh_peer_address(*ssh);
      if (plan.address.empty())
        return ctx.fail(Error{errc::kInternal,
                              "cannot tell which address the SSH connection reached",
                              "give --address HOST"});
    }

    plan.ssh_follows = ssh != nullptr;
    net::SpeedReport report;
    report.target = ctx.target.empty() ? session.transport().describe() : ctx.target;
    report.transport = session.transport().describe();
    report.agent_host = session.host();
    report.duration_ms = plan.duration_ms;
    report.rtt_count = plan.rtt_count;
    SpeedStatus status(ctx.err, plan);
    for (auto dir : dirs) {
      if (interrupted()) break;
      report.paths.push_back(run_direct(session, plan, dir, status));
      status.done(report.paths.back());
      if (interrupted()) break;
      if (!ssh) continue;
      report.paths.push_back(run_ssh(session, plan, dir, *ssh, status));
      status.done(report.paths.back());
    }
    status.end();
    if (!ssh) {
      net::SpeedPath na;
      na.path = "ssh";
      na.status = "n/a";
      na.reason = local ? "local target" : "--via: no SSH connection to carry a channel";
      report.paths.push_back(na);
    }
    if (ctx.g.json)
      ctx.print_json(net::to_json(report));
    else
      std::fputs(render::render_speed(report).c_str(), ctx.out);
    if (interrupted()) return exit_code::kInterrupted;
    return net::speed_ok(report) ? exit_code::kOk : exit_code::kFailed;
  };
  return c;
}

}  // namespace sonde::controller
