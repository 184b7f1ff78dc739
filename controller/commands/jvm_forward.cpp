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
#include "sonde/jvm/jmx_contract.h"
#include "sonde/jvm/jvm_contract.h"
#include "sonde/jvm/list_contract.h"
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

Result<jvm::JvmInfo> describe_jvm(Session& s, long pid, const CommandContext& ctx) {
  auto r = s.call("jvm.list", jvm::to_json(jvm::JvmListArgs{static_cast<int>(pid)}));
  if (!r) return jvm_hint(r.error(), ctx);
  auto list = jvm::jvm_list_result_from_json(*r);
  if (!list) return list.error();
  if (list->jvms.empty()) return Error{errc::kNotFound, fmt::format("no JVM {}", pid), {}};
  return std::move(list->jvms[0]);
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
    const std::string flag =
        "-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:5005";
    if (!j->jdwp)
      return ctx.fail(Error{
          errc::kNotFound,
          fmt::format("JVM {} has no JDWP agent: it was not started with one, and JDWP cannot "
                      "be switched on in a running JVM",
                      *pid),
          fmt::format("restart it with {} (JAVA_TOOL_OPTIONS works too), then run `sonde jvm "
                      "debug` again; meanwhile `sonde jvm threads` and `sonde jvm jfr` need no "
                      "restart",
                      flag)});
    const jvm::JdwpAgent& jd = *j->jdwp;
    if (jd.transport != "dt_socket")
      return ctx.fail(Error{errc::kNotFound,
                            fmt::format("JVM {}'s JDWP agent uses transport {}, not a socket", *pid,
                                        jd.transport.empty() ? "?" : jd.transport),
                            "restart it with " + flag});
    if (!jd.server)
      return ctx.fail(
          Error{errc::kNotFound,
                fmt::format("JVM {}'s JDWP agent does not listen: it dials a debugger at {} "
                            "(server=n)",
                            *pid, jd.address.empty() ? "?" : jd.address),
                "run the debugger where that address points, or restart the JVM with " + flag});
    int port = jd.port;
    std::vector<std::string> notes;
    if (port == 0) {
      // No address: the JDWP agent took a random port. Guess it when the JVM
      // listens on exactly one port.
      if (j->listening.size() == 1) {
        port = j->listening[0].port;
        notes.push_back(fmt::format(
            "JDWP was started without an address; port {} is the one port the JVM listens on",
            port));
      } else {
        return ctx.fail(Error{errc::kNotFound,
                              fmt::format("JVM {}'s JDWP agent listens on a random port", *pid),
                              "see its LISTEN ports in `sonde inspect TARGET -p PID` and use "
                              "`sonde forward TARGET PORT`"});
      }
    } else if (!jd.listening) {
      notes.push_back(fmt::format(
          "no listening socket on port {} was seen in JVM {} (another network namespace, or "
          "the debugger already attached: JDWP takes one debugger at a time)",
          port, *pid));
    }
    std::string host = jd.host;
    if (host.empty() || host == "*" || host == "0.0.0.0" || host == "::") host = "127.0.0.1";
    if (!j->container.same_net)
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
    if (ctx.g.json) {
      ctx.print_json({{"pid", *pid},
                      {"main", j->main},
                      {"local_port", lp},
                      {"remote_host", host},
                      {"remote_port", port},
                      {"jdwp", jvm::to_json(jd)},
                      {"notes", notes},
                      {"host", (*s)->host()}});
    } else {
      say(render::render_jdwp_forward(*j, (*s)->host(), lp, host, port, notes));
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
  std::optional<jvm::JmxStarted> started;  // the event: the agent holds JMX for the session
  std::optional<jvm::JmxResult> result;    // the op ended at once
};
Result<JmxStart> wait_started(Session& s, uint64_t id) {
  JmxStart out;
  auto on_event = [&](const json& e) -> Status {
    auto ev = jvm::jmx_event_from_json(e);
    if (!ev) return ev.error();
    if (*ev) out.started = std::move(**ev);
    return ok_status();
  };
  for (;;) {
    auto r = s.poll(id, on_event);
    if (!r) return r.error();
    if (*r) {
      auto res = jvm::jmx_result_from_json(**r);
      if (!res) return res.error();
      if (const auto* ended = std::get_if<jvm::JmxEnded>(&*res))
        return Error{errc::kAgent,
                     fmt::format("the JMX agent of JVM {} ended before it could be forwarded{}",
                                 ended->pid, ended->jvm_gone ? ": the JVM exited" : ""),
                     {}};
      out.result = std::move(*res);
      return out;
    }
    if (out.started) return out;
    if (interrupted()) {
      // Whatever the agent started meanwhile, it stops on the cancel.
      (void)s.cancel(id);
      (void)s.wait(id, {}, 15000);
      return Error{errc::kCancelled, "interrupted", {}};
    }
    ::usleep(5000);
  }
}

// How the held jvm.jmx op ended: its JmxEnded, or why there is none.
void read_end(const Result<json>& r, std::optional<jvm::JmxEnded>& ended, Error& error) {
  if (!r) {
    error = r.error();
    return;
  }
  auto res = jvm::jmx_result_from_json(*r);
  if (!res)
    error = res.error();
  else if (const auto* e = std::get_if<jvm::JmxEnded>(&*res))
    ended = *e;
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
    jvm::JmxStarted started;
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
      const auto* already = w->result ? std::get_if<jvm::JmxAlreadyRunning>(&*w->result) : nullptr;
      if (already) {
        if (ctx.g.json) {
          json out = jvm::to_json(*already);
          out["host"] = (*s)->host();
          ctx.print_json(out);
        } else {
          say(render::render_jmx_already_running(*already, ctx.target));
        }
        return exit_code::kOk;
      }
      if (w->result) {
        started = std::get<jvm::JmxStarted>(*w->result);  // --keep: the op is over, JMX stays
      } else {
        started = *w->started;
        op = *id;
      }
      fwd = std::move(*f);
    }
    if (!fwd) return ctx.fail(last);
    if (ctx.g.json) {
      json out = jvm::to_json(started);
      out["host"] = (*s)->host();
      out["local_port"] = fwd->local_port();
      ctx.print_json(out);
    } else {
      say(render::render_jmx_started(started, (*s)->host(), fwd->local_port()));
    }
    // The agent's op ends on its own only when the JVM exits.
    bool op_done = op == 0;
    std::optional<jvm::JmxEnded> ended;
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
            read_end(**r, ended, op_error);
            op_done = true;
          }
        });
    fwd.reset();
    if (op != 0 && !op_done) {
      (void)(*s)->cancel(op);
      read_end((*s)->wait(op, {}, 20000, 15000), ended, op_error);
      op_done = true;
    }
    if (op != 0) {
      if (!op_error.message.empty())
        std::fprintf(stderr, "sonde: warning: could not stop the JMX agent of JVM %ld: %s\n", *pid,
                     op_error.message.c_str());
      else if (ended && ended->jvm_gone)
        std::fprintf(stderr, "sonde: JVM %ld exited; its JMX login files were removed\n", *pid);
      else if (!ended || !ended->stopped)
        std::fprintf(stderr, "sonde: warning: could not stop the JMX agent of JVM %ld: %s\n", *pid,
                     ended ? ended->stop_error.value_or("?").c_str() : "?");
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
