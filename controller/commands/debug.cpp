// sonde debug TARGET -p PID [--local PORT] [--gdb [-- GDB ARGS]]: a gdbserver
// for PID on the target, reachable only through this session. The agent
// listens on a Unix socket in a 0700 directory on the target and starts
// gdbserver when a debugger connects (sonde/debug/gdbserver.h); we
// forward a local port to it (SSH direct-streamlocal, or a plain connection
// for `local`) and print the gdb line, or run gdb ourselves with --gdb. On exit the debugger's
// connection is closed, gdbserver detaches and the process runs on.
#include <signal.h>
#include <sys/wait.h>

#include "../cli/command.h"
#include "../transport/forward.h"
#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"
#include "sonde/debug/local_gdb.h"
#include "sonde/ptrace/debug_contract.h"
#include "sonde/render/table.h"

namespace sonde::controller {

CommandSpec debug_command() {
  CommandSpec c;
  c.name = "debug";
  c.summary = "gdbserver on the target for a process, forwarded here: gdb line, or --gdb to run it";
  c.synopsis = "debug TARGET -p PID [--local PORT] [--gdb [-- GDB ARGS...]]";
  c.takes_rest = true;
  c.options = [](po::options_description& o) {
    o.add_options()("pid,p", po::value<long>()->required(), "the process to debug")(
        "local", po::value<int>()->default_value(0),
        "local port for the debugger (default: any free one)")(
        "gdb", "run gdb here on the forwarded port; arguments after `--` go to gdb");
  };
  c.run = [](CommandContext& ctx) -> int {
    long pid = ctx.vm["pid"].as<long>();
    if (pid <= 0 || pid > INT32_MAX)
      return ctx.fail(Error{errc::kBadArgs, fmt::format("-p {} is not a process id", pid),
                            "sonde debug TARGET -p PID"});
    ptrace::DebugArgs args{static_cast<int>(pid), ctx.g.sudo};
    int local = ctx.vm["local"].as<int>();
    if (local < 0 || local > 65535)
      return ctx.fail(Error{errc::kBadArgs, "--local must be a port (1-65535)", {}});
    bool run_gdb = ctx.vm.count("gdb") != 0;
    if (!ctx.rest.empty() && !run_gdb)
      return ctx.fail(Error{errc::kBadArgs, "arguments after `--` go to gdb: add --gdb", {}});

    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    Session& session = **s;
    // Under --sudo the agent hands its socket to the user sudo ran it for:
    // the one sshd (or we, for `local`) connect as.
    auto id = session.send_request("gdbserver", ptrace::to_json(args));
    if (!id) return ctx.fail(id.error());

    // The agent's first event is its socket's path, or the request fails
    // (no gdbserver, no process, already traced).
    std::string remote_socket;
    std::string gdbserver;
    auto on_event = [&](const json& data) -> Status {
      auto ev = ptrace::debug_event_from_json(data);
      if (!ev) return ev.error();
      if (!*ev) return ok_status();
      if (const auto* l = std::get_if<ptrace::DebugListening>(&**ev)) {
        remote_socket = l->socket;
        gdbserver = l->gdbserver;
      } else if (const auto* c = std::get_if<ptrace::DebuggerConnected>(&**ev)) {
        std::fprintf(stderr, "sonde: debugger connected (gdbserver pid %lld)\n", c->gdbserver_pid);
      } else if (const auto* e = std::get_if<ptrace::DebuggerEnded>(&**ev)) {
        std::string err = render::terminal_safe(e->stderr_text);
        std::fprintf(stderr, "sonde: debugger gone (gdbserver %s); process state %c\n",
                     e->how.c_str(), e->process_state);
        if (!err.empty() && err.find("Detaching") == std::string::npos &&
            err.find("detach") == std::string::npos && e->how != "exited with status 0")
          std::fprintf(stderr, "  gdbserver said: %s\n", err.c_str());
      }
      return ok_status();
    };
    long deadline = monotonic_ms() + 30000;
    while (remote_socket.empty()) {
      auto r = session.poll(*id, on_event);
      if (!r) return ctx.fail(r.error());
      if (*r) return ctx.fail(Error{errc::kAgent, "gdbserver ended before it listened", {}});
      if (interrupted()) return exit_code::kInterrupted;
      if (monotonic_ms() > deadline)
        return ctx.fail(Error{errc::kTimeout, "the agent did not start listening in 30 s", {}});
      if (remote_socket.empty()) ::usleep(5000);
    }

    // --via reaches the agent's stdio and nothing else on the target: no
    // second stream can reach the socket. Refused rather than opened on a
    // TCP port there, which any local user could reach.
    if (!session.transport().ssh_connection() && !session.transport().forwards_directly()) {
      (void)session.cancel(*id);
      (void)session.wait(*id, {}, 10000);
      return ctx.fail(Error{
          errc::kBadArgs,
          fmt::format("sonde debug cannot reach gdbserver through {}: it carries the agent's "
                      "stdio only, and gdbserver is served on a Unix socket on the target",
                      session.transport().describe()),
          fmt::format("use an SSH target or `local`; or let gdb start gdbserver through the same "
                      "command, e.g. gdb -ex 'target remote | kubectl exec -i POD -- gdbserver "
                      "--attach - {}'",
                      pid)});
    }
    ForwardSpec spec;
    spec.local_port = local;
    spec.remote_socket = remote_socket;
    auto fwd = Forwarder::listen(session.transport(), spec);
    if (!fwd) {
      (void)session.cancel(*id);
      (void)session.wait(*id);
      return ctx.fail(fwd.error());
    }
    int port = (*fwd)->local_port();
    std::string line = fmt::format("gdb -ex 'target remote localhost:{}'", port);
    if (ctx.g.json) {
      ctx.print_json({{"pid", pid},
                      {"host", session.host()},
                      {"local_port", port},
                      {"remote_socket", remote_socket},
                      {"gdb", line},
                      {"gdbserver", gdbserver}});
      std::fflush(stdout);
    } else {
      std::printf(
          "process %ld on %s: gdbserver (%s) behind %s on the target (only its owner "
          "may connect)\n",
          pid, session.host().c_str(), gdbserver.c_str(),
          render::terminal_safe(remote_socket).c_str());
      std::printf("  %s\n", line.c_str());
      std::printf(
          "The process is attached only while a debugger is connected; `detach` or quit "
          "gdb to let it run on.%s\n",
          run_gdb ? "" : " Ctrl-C here ends the forward.");
      std::fflush(stdout);
    }

    debug::LocalGdb gdb;
    if (run_gdb) {
      if (auto st = gdb.start(port, ctx.rest); !st.ok()) {
        (void)session.cancel(*id);
        (void)session.wait(*id);
        return ctx.fail(st.error());
      }
    }
    bool agent_done = false;
    Error agent_error{};
    json final;  // the result as it came, read below with the rest
    uint64_t failures_told = 0;
    auto st = (*fwd)->run([&] { return agent_done || (run_gdb && gdb.exited()); },
                          [&](const ForwardStats& fs) {
                            // The debugger only sees its connection close:
                            // say why (e.g. sshd refusing streamlocal).
                            if (fs.failed > failures_told) {
                              failures_told = fs.failed;
                              std::fprintf(stderr, "sonde: cannot reach gdbserver: %s\n",
                                           render::terminal_safe(fs.last_error).c_str());
                            }
                            auto r = session.poll(*id, on_event);
                            if (!r) {
                              agent_error = r.error();
                              agent_done = true;
                            } else if (*r) {
                              final = std::move(**r);
                              agent_done = true;
                            }
                          });
    fwd->reset();  // the debugger's connection closes: gdbserver detaches
    if (agent_done && !agent_error.message.empty()) return ctx.fail(agent_error);
    if (!agent_done) (void)session.cancel(*id);
    auto r = agent_done ? Result<json>(std::move(final)) : session.wait(*id, on_event, 10000);
    if (!r) return ctx.fail(r.error());
    auto res = ptrace::debug_result_from_json(*r);
    if (!res) return ctx.fail(res.error());
    if (res->process_gone)
      std::fprintf(stderr, "sonde: process %ld is gone\n", pid);
    else
      std::fprintf(stderr, "sonde: process %ld runs on (state %c%s)\n", pid, res->process_state,
                   res->continued ? ", sent SIGCONT: it was left stopped" : "");
    if (!st.ok()) return ctx.fail(st.error());
    // Ended by Ctrl-C: 130 like every interrupted command (the process was
    // released all the same); ended by --gdb exiting or the process going: 0.
    return interrupted() ? exit_code::kInterrupted : exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
