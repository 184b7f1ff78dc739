// sonde jvm debug / jvm jmx TARGET -p PID: a JVM's JDWP port, or its JMX
// agent started at runtime, reachable on this machine through a port forward
// (transport/forward.h: an SSH direct-tcpip channel, or a plain connection
// for `local`). Both run until Ctrl-C.
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <optional>

#include "../cli/command.h"
#include "../transport/forward.h"
#include "jvm_common.h"
#include "sonde/common/ports.h"
#include "sonde/jvm/jvm_contract.h"
#include "sonde/render/jvm.h"
#include "sonde/render/table.h"

namespace sonde::controller {
namespace {

// The target is this machine: then a JVM bound to 127.0.0.1:N and our own
// listener on 127.0.0.1:N would collide.
bool same_machine(const CommandContext& ctx, Session& s) {
  if (ctx.target == "local") return true;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return false;
  return s.host() == name;
}

Result<json> describe_jvm(Session& s, long pid, const CommandContext& ctx) {
  auto r = s.call("jvm.list", jvm::to_json(jvm::JvmListArgs{static_cast<int>(pid)}));
  if (!r) return jvm_hint(r.error(), ctx);
  if (!r->contains("jvms") || !(*r)["jvms"].is_array() || (*r)["jvms"].empty())
    return Error{errc::kNotFound, fmt::format("no JVM {}", pid), {}};
  return (*r)["jvms"][0];
}

void say(const std::string& s) {
  std::fputs(s.c_str(), stdout);
  std::fflush(stdout);
}

// Serves the forward until Ctrl-C or done() says so; a status line on a
// terminal. tick runs with the status line (it may poll the Session).
Status serve(Forwarder& fwd, const std::function<bool()>& done = {},
             const std::function<void()>& tick = {}) {
  const bool tty = ::isatty(2);
  uint64_t last_accepted = 0;
  auto st = fwd.run([&] { return done && done(); },
                    [&](const ForwardStats& s) {
                      if (tick) tick();
                      if (s.accepted == last_accepted && !tty) return;
                      last_accepted = s.accepted;
                      if (tty)
                        std::fprintf(stderr, "\rsonde: %llu connection(s), %llu open%s%s\033[K",
                                     static_cast<unsigned long long>(s.accepted),
                                     static_cast<unsigned long long>(s.active),
                                     s.last_error.empty() ? "" : "; last error: ",
                                     render::terminal_safe(s.last_error).c_str());
                      std::fflush(stderr);
                    });
  if (tty) std::fputs("\n", stderr);
  return st;
}

CommandSpec debug_spec() {
  CommandSpec c;
  c.name = "jvm debug";
  c.summary = "forward a JVM's JDWP port and print how to attach jdb or an IDE";
  c.synopsis = "jvm debug TARGET -p PID [--local-port N]";
  c.options = [](po::options_description& o) {
    o.add_options()("pid,p", po::value<long>()->required(), "the JVM (see `sonde jvm list`)")(
        "local-port", po::value<long>()->default_value(0),
        "listen on this port here (default: a free one)");
  };
  c.run = [](CommandContext& ctx) -> int {
    auto pid = jvm_pid(ctx);
    if (!pid) return ctx.fail(pid.error());
    long local_port = ctx.vm["local-port"].as<long>();
    if (local_port < 0 || local_port > 65535)
      return ctx.fail(Error{errc::kBadArgs, "--local-port must be 0..65535", {}});
    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    auto j = describe_jvm(**s, *pid, ctx);
    if (!j) return ctx.fail(j.error());
    const json& jd = (*j)["jdwp"];
    const std::string flag =
        "-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:5005";
    if (!jd.is_object())
      return ctx.fail(Error{
          errc::kNotFound,
          fmt::format("JVM {} has no JDWP agent: it was not started with one, and JDWP cannot "
                      "be switched on in a running JVM",
                      *pid),
          fmt::format("restart it with {} (JAVA_TOOL_OPTIONS works too), then run `sonde jvm "
                      "debug` again; meanwhile `sonde jvm threads` and `sonde jvm jfr` need no "
                      "restart",
                      flag)});
    if (jd.value("transport", "") != "dt_socket")
      return ctx.fail(Error{errc::kNotFound,
                            fmt::format("JVM {}'s JDWP agent uses transport {}, not a socket", *pid,
                                        jd.value("transport", "?")),
                            "restart it with " + flag});
    if (!jd.value("server", false))
      return ctx.fail(
          Error{errc::kNotFound,
                fmt::format("JVM {}'s JDWP agent does not listen: it dials a debugger at {} "
                            "(server=n)",
                            *pid, jd.value("address", "?")),
                "run the debugger where that address points, or restart the JVM with " + flag});
    int port = jd.value("port", 0);
    std::vector<std::string> notes;
    if (port == 0) {
      // No address: the JDWP agent took a random port. Guess it when the JVM
      // listens on exactly one port.
      const json& l = (*j)["listening"];
      if (l.is_array() && l.size() == 1) {
        port = l[0].value("port", 0);
        notes.push_back(fmt::format(
            "JDWP was started without an address; port {} is the one port the JVM listens on",
            port));
      } else {
        return ctx.fail(Error{errc::kNotFound,
                              fmt::format("JVM {}'s JDWP agent listens on a random port", *pid),
                              "see its LISTEN ports in `sonde inspect TARGET -p PID` and use "
                              "`sonde forward TARGET PORT`"});
      }
    } else if (!jd.value("listening", false)) {
      notes.push_back(fmt::format(
          "no listening socket on port {} was seen in JVM {} (another network namespace, or "
          "the debugger already attached: JDWP takes one debugger at a time)",
          port, *pid));
    }
    std::string host = jd.value("host", "");
    if (host.empty() || host == "*" || host == "0.0.0.0" || host == "::") host = "127.0.0.1";
    const json& cont = (*j)["container"];
    if (cont.is_object() && !cont.value("same_net", true))
      notes.push_back(
          "the JVM runs in another network namespace (a container): the forward "
          "reaches the host's network; use --via into the container if it fails");

    ForwardSpec spec;
    spec.local_port = static_cast<int>(local_port);
    spec.remote_host = host;
    spec.remote_port = port;
    auto fwd = Forwarder::listen((*s)->transport(), spec);
    if (!fwd) return ctx.fail(fwd.error());
    int lp = (*fwd)->local_port();
    std::string main = j->value("main", "");
    if (ctx.g.json) {
      ctx.print_json({{"pid", *pid},
                      {"main", main},
                      {"local_port", lp},
                      {"remote_host", host},
                      {"remote_port", port},
                      {"jdwp", jd},
                      {"notes", notes},
                      {"host", (*s)->host()}});
    } else {
      std::string t = fmt::format(
          "JDWP of JVM {} ({}) on {}: localhost:{} -> {}:{} on the target\n"
          "  jdb       jdb -attach localhost:{}\n"
          "  IntelliJ  Run > Edit Configurations > + Remote JVM Debug: host localhost, port {}\n"
          "  VS Code   launch.json: {{\"type\": \"java\", \"request\": \"attach\", "
          "\"hostName\": \"localhost\", \"port\": {}}}\n"
          "  Eclipse   Debug Configurations > Remote Java Application: localhost, port {}\n",
          *pid, render::terminal_safe(main), (*s)->host(), lp, host, port, lp, lp, lp, lp);
      for (const auto& n : notes) t += "note: " + n + "\n";
      t += "warning: JDWP has no authentication: whoever reaches the port can run any code in "
           "the JVM. The forward listens on 127.0.0.1 only; keep it that way.\n"
           "Ctrl-C ends the forward.\n";
      say(t);
    }
    auto st = serve(**fwd);
    if (!st && st.error().code != errc::kCancelled) return ctx.fail(st.error());
    return exit_code::kOk;
  };
  return c;
}

// Waits for jvm.jmx's "started" event, or its end: a result (already
// running, or --keep) or an error (kBusy: port taken on the target).
struct JmxStart {
  json started;                // the event, when the agent holds JMX for the session
  std::optional<json> result;  // the op ended at once
};
Result<JmxStart> wait_started(Session& s, uint64_t id) {
  JmxStart out;
  auto on_event = [&](const json& e) {
    if (e.value("event", "") == "started") out.started = e;
  };
  for (;;) {
    auto r = s.poll(id, on_event);
    if (!r) return r.error();
    if (*r) {
      out.result = std::move(**r);
      return out;
    }
    if (!out.started.is_null()) return out;
    if (interrupted()) {
      // Whatever the agent started meanwhile, it stops on the cancel.
      (void)s.cancel(id);
      (void)s.wait(id, {}, 15000);
      return Error{errc::kCancelled, "interrupted", {}};
    }
    ::usleep(5000);
  }
}

CommandSpec jmx_spec() {
  CommandSpec c;
  c.name = "jvm jmx";
  c.summary =
      "start a JVM's JMX agent at runtime with a one-session login, forward it, print "
      "the URL and login for JMC/VisualVM";
  c.synopsis = "jvm jmx TARGET -p PID [--keep] [--attach-timeout 10s]";
  c.options = [](po::options_description& o) {
    o.add_options()("pid,p", po::value<long>()->required(), "the JVM (see `sonde jvm list`)")(
        "keep", po::bool_switch(),
        "leave the management agent (and its login files) in the JVM when sonde exits")(
        "attach-timeout", po::value<std::string>()->default_value("10s"),
        "how long to wait for the JVM to answer the attach request");
  };
  c.run = [](CommandContext& ctx) -> int {
    auto pid = jvm_pid(ctx);
    if (!pid) return ctx.fail(pid.error());
    auto timeout = attach_timeout(ctx);
    if (!timeout) return ctx.fail(timeout.error());
    bool keep = ctx.vm["keep"].as<bool>();
    // The port and the bind address are picked below; these are checked now.
    if (auto st = jvm::validate(
            jvm::JmxArgs{static_cast<int>(*pid), false, 1, "127.0.0.1", *timeout, keep});
        !st)
      return ctx.fail(st.error());
    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    // On the same machine the JVM takes 127.0.0.2:N so that our listener can
    // have 127.0.0.1:N, the address the RMI stub names.
    std::string bind = same_machine(ctx, **s) ? "127.0.0.2" : "127.0.0.1";
    std::unique_ptr<Forwarder> fwd;
    json started;
    uint64_t op = 0;  // the agent's jvm.jmx, holding JMX until it is cancelled
    Error last{errc::kBusy, "no port was free on both sides", "try again"};
    // The RMI stub names port N: the local port must be the remote one too.
    for (int attempt = 0; attempt < 8 && !fwd; ++attempt) {
      int n = free_loopback_port();
      if (n == 0) break;
      ForwardSpec spec;
      spec.local_port = n;
      spec.remote_host = bind;
      spec.remote_port = n;
      auto f = Forwarder::listen((*s)->transport(), spec);
      if (!f) {
        last = f.error();
        continue;  // taken here meanwhile: another port
      }
      auto id = (*s)->send_request(
          "jvm.jmx",
          jvm::to_json(jvm::JmxArgs{static_cast<int>(*pid), false, n, bind, *timeout, keep}));
      if (!id) return ctx.fail(id.error());
      auto w = wait_started(**s, *id);
      if (!w) {
        if (w.error().code == errc::kBusy) {
          last = w.error();
          continue;  // taken on the target: another port
        }
        if (w.error().code == errc::kCancelled) return exit_code::kInterrupted;
        return ctx.fail(jvm_hint(w.error(), ctx));
      }
      if (w->result && w->result->value("already_running", false)) {
        json& r = *w->result;
        std::string url = r.value("url", "");
        if (ctx.g.json) {
          r["host"] = (*s)->host();
          ctx.print_json(r);
        } else {
          say(fmt::format(
              "JVM {} already runs its JMX agent{}.\n{}"
              "To reach it from here, forward its port(s) with `sonde forward {} PORT`; if its "
              "RMI port differs from the registry port or java.rmi.server.hostname is not "
              "127.0.0.1, forward both and expect the stub to name the JVM's host.\n",
              *pid, url.empty() ? "" : " at " + render::terminal_safe(url),
              render::terminal_safe_text(r.value("status", "")),
              ctx.target.empty() ? "TARGET" : ctx.target));
        }
        return exit_code::kOk;
      }
      if (w->result) {
        started = *w->result;  // --keep: the op is over, JMX stays
      } else {
        started = w->started;
        started.erase("event");
        op = *id;
      }
      fwd = std::move(*f);
    }
    if (!fwd) return ctx.fail(last);
    int port = started.value("port", 0);
    std::string url = started.value("url", "");
    std::string user = started.value("user", ""), password = started.value("password", "");
    if (ctx.g.json) {
      started["host"] = (*s)->host();
      started["local_port"] = fwd->local_port();
      ctx.print_json(started);
    } else {
      say(fmt::format(
          "JMX agent of JVM {} started on {}:{} on {} (registry and RMI on one port), "
          "forwarded to localhost:{}\n"
          "  URL        {}\n"
          "  user       {}\n"
          "  password   {}\n"
          "  jconsole   jconsole {}   (then the user and password above)\n"
          "  VisualVM   visualvm --openjmx localhost:{}\n"
          "  JMC        File > Connect > Create a new connection: host localhost, port {}, "
          "the user and password above\n"
          "The login is made for this agent only (password file 0600 on the target); no "
          "TLS: the agent listens on loopback on the target and the forward on 127.0.0.1 "
          "here.\n"
          "{}Ctrl-C ends the forward.\n",
          *pid, bind, port, (*s)->host(), fwd->local_port(), url, user, password, url, port, port,
          keep ? fmt::format("The agent and its login stay in the JVM afterwards (--keep); "
                             "`jcmd {} ManagementAgent.stop` and removing {} on the target undo "
                             "it.\n",
                             *pid, render::terminal_safe(started.value("files", "")))
               : "The agent is stopped and its login removed when sonde exits (--keep leaves "
                 "them).\n"));
    }
    // The agent's op ends on its own only when the JVM exits.
    bool op_done = op == 0;
    json final;
    Error op_error{};
    auto st = serve(
        *fwd, [&] { return op != 0 && op_done; },
        [&] {
          if (op_done) return;
          auto r = (*s)->poll(op);
          if (!r) {
            op_error = r.error();
            op_done = true;
          } else if (*r) {
            final = std::move(**r);
            op_done = true;
          }
        });
    fwd.reset();
    if (op != 0 && !op_done) {
      (void)(*s)->cancel(op);
      auto r = (*s)->wait(op, {}, 20000, 15000);
      if (r)
        final = std::move(*r);
      else
        op_error = r.error();
      op_done = true;
    }
    if (op != 0) {
      if (!op_error.message.empty())
        std::fprintf(stderr, "sonde: warning: could not stop the JMX agent of JVM %ld: %s\n", *pid,
                     op_error.message.c_str());
      else if (final.value("jvm_gone", false))
        std::fprintf(stderr, "sonde: JVM %ld exited; its JMX login files were removed\n", *pid);
      else if (!final.value("stopped", false))
        std::fprintf(stderr, "sonde: warning: could not stop the JMX agent of JVM %ld: %s\n", *pid,
                     final.value("stop_error", "?").c_str());
      else if (!ctx.g.json)
        std::fprintf(stderr, "sonde: stopped the JMX agent of JVM %ld and removed its login\n",
                     *pid);
    }
    if (!st && st.error().code != errc::kCancelled) return ctx.fail(st.error());
    return exit_code::kOk;
  };
  return c;
}

}  // namespace

CommandSpec jvm_debug_command() {
  return debug_spec();
}
CommandSpec jvm_jmx_command() {
  return jmx_spec();
}

}  // namespace sonde::controller
