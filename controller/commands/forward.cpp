// sonde forward TARGET REMOTE_PORT: a local port that reaches REMOTE_PORT as
// the target sees it, through SSH direct-tcpip channels (sshd serves them; no
// agent is deployed), or directly for `local`. Runs until Ctrl-C.
#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "../cli/command.h"
#include "../transport/forward.h"
#include "sonde/common/io.h"
#include "sonde/common/json_text.h"

namespace sonde::controller {
namespace {

Result<int> parse_port(const std::string& text, const char* what, int min) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || errno || *end || v < min || v > 65535)
    return Error{errc::kBadArgs, fmt::format("{} `{}` is not a port number", what, text),
                 min == 0 ? "give a number from 1 to 65535 (0: any free port)"
                          : "give a number from 1 to 65535, e.g. `sonde forward db1 5432`"};
  return static_cast<int>(v);
}

bool is_loopback(const std::string& bind) {
  return bind.rfind("127.", 0) == 0 || bind == "::1" || bind == "[::1]" || bind == "localhost";
}

std::string host_port(const std::string& host, int port) {
  return host.find(':') != std::string::npos && host.front() != '['
             ? fmt::format("[{}]:{}", host, port)
             : fmt::format("{}:{}", host, port);
}

json stats_json(const ForwardStats& s) {
  json j = {{"accepted", s.accepted},
            {"active", s.active},
            {"failed", s.failed},
            {"bytes_to_remote", s.bytes_to_remote},
            {"bytes_from_remote", s.bytes_from_remote}};
  if (!s.last_error.empty()) j["last_error"] = s.last_error;
  return j;
}

std::string stats_line(const ForwardStats& s) {
  std::string line = fmt::format("{} open, {} total", s.active, s.accepted);
  if (s.failed) line += fmt::format(", {} failed", s.failed);
  line += fmt::format("; sent {}, received {}", human_bytes(s.bytes_to_remote),
                      human_bytes(s.bytes_from_remote));
  return line;
}

}  // namespace

CommandSpec forward_command() {
  CommandSpec c;
  c.name = "forward";
  c.summary =
      "forward a local port to REMOTE_PORT as the target sees it (SSH direct-tcpip; no agent)";
  c.synopsis = "forward TARGET REMOTE_PORT [--remote-host H] [--local PORT] [--bind ADDR]";
  c.positionals = {"remote-port"};
  c.options = [](po::options_description& o) {
    o.add_options()("remote-port", po::value<std::string>(),
                    "the port to reach on the target's side (positional)")(
        "remote-host", po::value<std::string>()->default_value("127.0.0.1"),
        "the host to reach, resolved on the target's side")(
        "local", po::value<std::string>()->default_value("0"),
        "the local port to listen on (0: any free port)")(
        "bind", po::value<std::string>()->default_value("127.0.0.1"),
        "the local address to listen on; anything but loopback lets other machines in");
  };
  c.run = [](CommandContext& ctx) -> int {
    // With --via the first word would be taken for REMOTE_PORT's TARGET:
    // say what is wrong with --via itself first.
    if (!ctx.g.via.empty()) {
      auto link = ctx.connect_link();
      if (!link) return ctx.fail(link.error());
    }
    if (!ctx.vm.count("remote-port"))
      return ctx.fail(Error{errc::kBadArgs, "missing REMOTE_PORT",
                            "usage: sonde forward TARGET REMOTE_PORT, e.g. `sonde forward db1 "
                            "5432`, then connect to the local port it prints"});
    ForwardSpec spec;
    auto remote = parse_port(ctx.vm["remote-port"].as<std::string>(), "remote port", 1);
    if (!remote) return ctx.fail(remote.error());
    auto local = parse_port(ctx.vm["local"].as<std::string>(), "--local", 0);
    if (!local) return ctx.fail(local.error());
    spec.remote_port = *remote;
    spec.local_port = *local;
    spec.remote_host = ctx.vm["remote-host"].as<std::string>();
    spec.bind = ctx.vm["bind"].as<std::string>();

    // Checked before connecting: a typo must not cost an SSH handshake.
    in6_addr any{};
    std::string b = spec.bind;
    if (b.size() > 2 && b.front() == '[' && b.back() == ']') b = b.substr(1, b.size() - 2);
    if (b != "localhost" && ::inet_pton(AF_INET, b.c_str(), &any) != 1 &&
        ::inet_pton(AF_INET6, b.c_str(), &any) != 1)
      return ctx.fail(Error{errc::kBadArgs,
                            fmt::format("bind address `{}` is not an IP address", spec.bind),
                            "give --bind an address of this machine, e.g. 127.0.0.1 (the "
                            "default), ::1, or 0.0.0.0 for every interface"});

    auto link = ctx.connect_link();
    if (!link) return ctx.fail(link.error());
    auto fw = Forwarder::listen(**link, spec);
    if (!fw) return ctx.fail(fw.error());
    Forwarder& f = **fw;

    std::string from =
        host_port(spec.bind == "localhost" ? "127.0.0.1" : spec.bind, f.local_port());
    std::string to = host_port(spec.remote_host, spec.remote_port);
    if (ctx.g.json) {
      json j = {{"event", "listening"}, {"local", from}, {"local_port", f.local_port()},
                {"bind", spec.bind},    {"remote", to},  {"via", (*link)->describe()}};
      std::printf("%s\n", json_text(j).c_str());
    } else {
      std::printf("forwarding %s -> %s on %s (Ctrl-C to stop)\n", from.c_str(), to.c_str(),
                  (*link)->describe().c_str());
    }
    std::fflush(stdout);
    if (!is_loopback(spec.bind))
      std::fprintf(stderr,
                   "sonde: warning: listening on %s: other machines can connect to it and reach "
                   "%s on the target\n",
                   from.c_str(), to.c_str());

    // A live status line on a terminal; otherwise only failures, as they come.
    const bool tty = ::isatty(2);
    uint64_t failed_seen = 0;
    std::string last_status;
    auto on_tick = [&](const ForwardStats& s) {
      if (s.failed > failed_seen) {
        if (tty && !last_status.empty()) std::fprintf(stderr, "\r\033[K");
        if (ctx.g.json)
          std::printf(
              "%s\n",
              json_text({{"event", "failed"}, {"failed", s.failed}, {"error", s.last_error}})
                  .c_str());
        else
          std::fprintf(stderr, "sonde: forward: connection failed: %s\n", s.last_error.c_str());
        std::fflush(stdout);
        failed_seen = s.failed;
        last_status.clear();
      }
      if (tty) {
        std::string line = stats_line(s);
        if (line != last_status) {
          std::fprintf(stderr, "\r\033[K%s", line.c_str());
          last_status = line;
        }
      }
    };
    Status st = f.run({}, on_tick);
    on_tick(f.stats());
    if (tty && !last_status.empty()) std::fprintf(stderr, "\r\033[K");
    const ForwardStats s = f.stats();
    fw->reset();
    if (ctx.g.json) {
      json j = stats_json(s);
      j["event"] = "stopped";
      if (!st.ok()) j["error"] = st.error().message;
      std::printf("%s\n", json_text(j).c_str());
      std::fflush(stdout);
    } else {
      std::fprintf(stderr, "sonde: forward stopped: %s\n", stats_line(s).c_str());
    }
    if (!st.ok()) {
      // With --json the "stopped" event above carries the error already.
      if (ctx.g.json) return report_error(st.error(), ctx.command, false, ctx.out, ctx.err);
      return ctx.fail(st.error());
    }
    return interrupted() ? exit_code::kInterrupted : exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
