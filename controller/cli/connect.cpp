// Target → transport → handshaken session.
#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "../transport/pipe_transport.h"
#include "../transport/ssh_transport.h"
#include "command.h"
#include "sonde/common/io.h"
#include "sonde/common/json_text.h"
#include "sonde/common/log.h"
#include "sonde/common/signals.h"

namespace sonde::controller {

std::string default_agent_path() {
  if (const char* env = std::getenv("SONDE_AGENT"); env && *env) return env;
  auto self = read_link("/proc/self/exe");
  if (self) {
    auto slash = self->rfind('/');
    if (slash != std::string::npos) return self->substr(0, slash) + "/sonde-agent";
  }
  return "sonde-agent";
}

namespace {

SshOptions ssh_options(const GlobalOptions& g) {
  SshOptions so;
  so.identity_file = g.identity;
  so.config_file = g.ssh_config;
  so.accept_new = g.accept_new;
  so.connect_timeout_ms = g.connect_timeout_ms;
  so.verbosity = g.verbosity;
  return so;
}

}  // namespace

Result<std::unique_ptr<Session>> CommandContext::connect() const {
  std::string agent = g.agent_path.empty() ? default_agent_path() : g.agent_path;
  Result<std::unique_ptr<Transport>> t = Error{errc::kInternal, "no transport", {}};
  if (!g.via.empty()) {
    t = open_via(g.via, g.verbosity);
  } else if (target == "local" || target == "localhost-agent") {
    t = open_local(agent, g.sudo, g.verbosity);
  } else {
    auto st = parse_ssh_target(target);
    if (!st) return st.error();
    SshOptions so = ssh_options(g);
    so.gate = g.handshake_gate;
    DeployOptions d;
    d.agent_path = agent;
    d.remote_dir = g.remote_dir;
    d.sudo = g.sudo;
    d.verbosity = g.verbosity;
    t = open_ssh(*st, so, d);
  }
  if (!t) return t.error();
  auto s = std::make_unique<Session>(std::move(*t));
  if (auto hs = s->handshake(); !hs.ok()) return hs.error();
  reached_agent = true;
  // A case entry and a fleet's merged times need the host's clock: 8 pings,
  // before the observer sees requests (they are not the command's).
  if (observer || g.measure_clock) {
    if (auto c = measure_clock(*s)) {
      clock = *c;
      if (observer) observer->on_clock(*s, *c);
    } else {
      spdlog::warn("{}: clock offset not measured: {}", s->host(), c.error().message);
    }
  }
  s->set_observer(observer);
  return s;
}

Result<std::unique_ptr<Transport>> CommandContext::connect_link() const {
  if (!g.via.empty())
    return Error{errc::kBadArgs,
                 "cannot forward ports through --via: the command reaches an agent's stdio, not "
                 "the target's network",
                 "give an SSH target instead (forwards are SSH direct-tcpip channels), or run "
                 "`kubectl port-forward` / `ssh -L` beside sonde"};
  if (target == "local" || target == "localhost-agent") return open_local_link();
  auto st = parse_ssh_target(target);
  if (!st) return st.error();
  return open_ssh_link(*st, ssh_options(g));
}

std::optional<Error> duration_option(const po::variables_map& vm, const char* name, long* out_ms) {
  if (!vm.count(name)) return std::nullopt;
  std::string text = vm[name].as<std::string>();
  auto ms = parse_duration_ms(text);
  if (!ms)
    return Error{errc::kBadArgs, fmt::format("--{} `{}` is not a duration", name, text),
                 "durations look like 3s, 500ms, 1.5s or 2m (a plain number is seconds)"};
  *out_ms = *ms;
  return std::nullopt;
}

int exit_code_for(const Error& e) {
  const std::string& c = e.code;
  if (c == errc::kBadArgs) return exit_code::kUsage;
  if (c == errc::kConnect) return exit_code::kConnect;
  if (c == errc::kAuth) return exit_code::kAuth;
  if (c == errc::kHostKey) return exit_code::kHostKey;
  if (c == errc::kAgent || c == errc::kProtocol) return exit_code::kAgent;
  if (c == errc::kCancelled) return exit_code::kInterrupted;
  return exit_code::kFailed;
}

int launched_exit_code(bool cancelled, std::optional<int> code, const std::string& killed_by) {
  if (cancelled || interrupted_by_signal()) return exit_code::kInterrupted;
  if (code) return *code;
  if (!killed_by.empty()) return 128 + signal_number(killed_by).value_or(SIGKILL);
  return exit_code::kOk;
}

namespace {

std::string command_prefix(const std::string& command) {
  return command.empty() ? std::string("sonde") : "sonde " + command;
}

}  // namespace

int report_error(const Error& e, const std::string& command, bool json_out, FILE* out, FILE* err,
                 std::optional<int> given) {
  int code = given.value_or(exit_code_for(e));
  if (json_out) {
    json j = {{"error", {{"code", e.code}, {"message", e.message}}}};
    if (!e.hint.empty()) j["error"]["hint"] = e.hint;
    if (e.sys_errno) j["error"]["errno"] = e.sys_errno;
    j["exit_code"] = code;
    std::fprintf(out, "%s\n", json_text(j, 2).c_str());
  }
  std::fprintf(err, "%s: error: %s\n", command_prefix(command).c_str(), e.message.c_str());
  if (!e.hint.empty()) std::fprintf(err, "  hint: %s\n", e.hint.c_str());
  return code;
}

void report_warning(const std::string& command, const std::string& message, const std::string& hint,
                    FILE* err) {
  std::fprintf(err, "%s: warning: %s\n", command_prefix(command).c_str(), message.c_str());
  if (!hint.empty()) std::fprintf(err, "  hint: %s\n", hint.c_str());
}

int CommandContext::fail(const Error& e) {
  failed = e;
  return report_error(e, command, g.json, out, err);
}

void CommandContext::warn(const std::string& message, const std::string& hint) const {
  report_warning(command, message, hint, err);
}

void CommandContext::print_json(json j) const {
  if (json_sink && !json_sink_spent) {
    if (json_sink->is_discarded()) {
      *json_sink = std::move(j);
      return;
    }
    // Not one document after all (a stream of them): text, in order.
    std::fprintf(out, "%s\n", json_text(*json_sink, 2).c_str());
    *json_sink = json(json::value_t::discarded);
    json_sink_spent = true;
  }
  std::string s = json_text(j, 2);
  std::fprintf(out, "%s\n", s.c_str());
}

int CommandContext::terminal_width() const {
  winsize ws{};
  if (out != stdout || !::isatty(1) || ::ioctl(1, TIOCGWINSZ, &ws) != 0) return 0;
  return ws.ws_col;
}

void CommandContext::print_result_json(json result, const Session& from) const {
  result["host"] = from.host();
  print_json(std::move(result));
}

}  // namespace sonde::controller
