// sonde: the controller. Parses the command line, finds the command, runs it.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>

#include "../case/recorder.h"
#include "command.h"
#include "fleet/run.h"
#include "sonde/common/io.h"
#include "sonde/common/log.h"
#include "sonde/common/protocol.h"

namespace sonde::controller {
namespace {

// yield_short: short names a command declares for itself (capture's -i is
// its interface, as in tcpdump); for that command the global option keeps
// only its long name.
po::options_description global_options(GlobalOptions& g, std::string& connect_timeout,
                                       fleet::FleetOptions& fo, std::string& deadline,
                                       const std::set<std::string>& yield_short = {}) {
  auto name = [&](const char* long_name, const char* short_name) {
    return yield_short.count(short_name) ? std::string(long_name)
                                         : std::string(long_name) + "," + short_name;
  };
  po::options_description o("Global options");
  o.add_options()("help,h", "show help (sonde help COMMAND for one command)")(
      "json", po::bool_switch(&g.json), "print the structured result as JSON")(
      "verbose,v", po::value<std::vector<std::string>>()->zero_tokens()->composing(),
      "more log output on stderr (-v info, -vv debug incl. the agent, -vvv SSH protocol)")(
      "agent", po::value(&g.agent_path),
      "the sonde-agent binary to run or deploy (default: beside sonde)")(
      "sudo", po::bool_switch(&g.sudo), "run the agent as root through `sudo -n`")(
      "via", po::value(&g.via),
      "connect by running CMD, which must start `sonde-agent serve` with stdio connected "
      "(e.g. 'kubectl exec -i POD -- /sonde-agent serve')")(
      name("identity", "i").c_str(), po::value(&g.identity),
      "SSH private key file (instead of the default keys)")(
      name("ssh-config", "F").c_str(), po::value(&g.ssh_config),
      "SSH config file (default ~/.ssh/config)")(
      "accept-new", po::bool_switch(&g.accept_new),
      "record the host key of a host not yet in known_hosts (a changed key is always refused)")(
      "connect-timeout", po::value(&connect_timeout)->default_value("10s"), "SSH connect timeout")(
      "remote-dir", po::value(&g.remote_dir),
      "where the agent is cached on the target (default ~/.cache/sonde)")(
      "case", po::value<std::string>(),
      "record this run in case NAME (default: the active case, see `sonde case use`)")(
      "no-redact", "keep secrets (environment values, passwords, tokens) in the case journal");
  po::options_description f("Fleet options (TARGETS: a,b,c  web[01-40]  db[1,3,5]  @FILE)");
  f.add_options()("inventory", po::value(&fo.inventory),
                  "an Ansible inventory (INI, YAML, or `ansible-inventory --list` JSON); "
                  "TARGETS are its hosts, groups and patterns (default: all)")(
      name("exclude", "x").c_str(), po::value(&fo.exclude)->composing(),
      "leave out these hosts, ranges or groups (repeatable, comma lists)")(
      "fanout", po::value(&fo.fanout)->default_value(64), "hosts run at once")(
      "deadline", po::value(&deadline),
      "stop the whole run after this long (e.g. 2m); hosts not done are named")(
      "log-dir", po::value(&fo.log_dir),
      "keep each host's output there, and one JSON line per host (hosts.jsonl, for `sonde "
      "merge`)")("k8s", po::value(&fo.k8s),
                 "[NS/]SELECTOR: the pods kubectl lists for it are the targets, each agent reached "
                 "with kubectl exec -i (see deploy/k8s)")(
      "k8s-agent", po::value(&fo.k8s_agent),
      "the agent's path inside those pods (default /usr/local/bin/sonde-agent)")(
      "k8s-container", po::value(&fo.k8s_container), "the container of the pod to exec in");
  o.add(f);
  return o;
}

// Options that take a value: needed to find the command word before parsing.
const std::set<std::string> kValueOptions = {
    "--agent",      "--via",       "--identity",        "-i",
    "--ssh-config", "-F",          "--connect-timeout", "--remote-dir",
    "--case",       "--inventory", "--exclude",         "-x",
    "--k8s",        "--k8s-agent", "--k8s-container",   "--fanout",
    "--deadline",   "--log-dir"};

void print_usage(const po::options_description& global) {
  std::printf(
      "sonde %s: inspect processes and the network on remote hosts, from the inside.\n\n"
      "usage: sonde [global options] COMMAND TARGET [command options]\n\n"
      "TARGET is `local` (this machine, no SSH), [user@]host[:port], ssh://[user@]host[:port],\n"
      "or a Host alias from ~/.ssh/config. With --via CMD the target may be omitted.\n"
      "TARGETS runs the command on many hosts at once and merges what they say: a comma\n"
      "list, ranges (web[01-40], db[1,3,5]), @FILE (a host a line), or --inventory FILE.\n\n"
      "Commands:\n",
      kSondeVersion);
  for (const auto& c : all_commands()) std::printf("  %-13s %s\n", c.name, c.summary);
  std::cout << "\n" << global << "\n";
  std::printf(
      "Exit codes:\n"
      "  0    success\n"
      "  1    the inspection failed (no such process, permission denied, ...)\n"
      "  2    bad command line\n"
      "  3    cannot connect (unreachable, refused, timed out, unknown name)\n"
      "  4    SSH authentication failed\n"
      "  5    host key unknown (see --accept-new) or changed\n"
      "  6    agent problem (deploy, start, died mid-request, protocol mismatch or a malformed "
      "reply)\n"
      "  7    fleet run: some hosts failed (the summary names them by class)\n"
      "  8    fleet run: every host failed\n"
      "  130  interrupted (Ctrl-C): work was cancelled and targets released\n");
}

// A command's help: synopsis, summary and its options. Options that hold
// positionals (case note's TEXT words, forward's REMOTE_PORT, merge's DIRs)
// are parsed, not shown: the synopsis names those arguments.
void print_command_help(const CommandSpec& c) {
  po::options_description own(std::string("Options for ") + c.name);
  if (c.options) c.options(own);
  auto positional = [&](const std::string& name) {
    if (c.rest_positional && name == c.rest_positional) return true;
    for (const char* p : c.positionals)
      if (name == p) return true;
    return false;
  };
  po::options_description shown(std::string("Options for ") + c.name);
  for (const auto& o : own.options())
    if (!positional(o->long_name())) shown.add(o);
  std::printf("usage: sonde %s\n\n%s\n\n", c.synopsis, c.summary);
  if (!shown.options().empty()) std::cout << shown << "\n";
}

// --json before any `--`: errors on the command line are JSON documents too.
bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i)
    if (!std::strcmp(argv[i], "--json")) return true;
  return false;
}

// A bad command line (exit code 2), reported as every error is.
int usage_error(const std::string& command, bool json_out, std::string message, std::string hint) {
  return report_error(Error{errc::kBadArgs, std::move(message), std::move(hint)}, command, json_out,
                      stdout, stderr);
}

// Runs the command. Commands read the agent's results with plain nlohmann
// accessors; one that meets a field of the wrong type throws, and that is the
// peer's fault: a protocol error naming the op, not an internal error.
int run_command(const CommandSpec& spec, CommandContext& ctx) {
  try {
    int code = spec.run(ctx);
    // Ctrl-C ends every command with 130, after what it gathered is printed.
    if (code == exit_code::kOk && interrupted_by_signal()) return exit_code::kInterrupted;
    return code;
  } catch (const json::exception& e) {
    if (last_read_op().empty()) throw;  // no agent data read yet: our own bug
    return ctx.fail(malformed_reply(last_read_op(), "result", e.what()));
  }
}

// The output files a command was asked to write, for the case journal to
// copy: -o/--output (profile, trace, jvm jfr), -w/--write (capture), and
// those it wrote without an option naming them; `-` is stdout.
std::vector<std::string> output_files(const CommandContext& ctx) {
  std::vector<std::string> out;
  for (const char* name : {"output", "write", "out", "output-file"}) {
    if (!ctx.vm.count(name)) continue;
    try {
      std::string p = ctx.vm[name].as<std::string>();
      if (!p.empty() && p != "-") out.push_back(p);
    } catch (const boost::bad_any_cast&) {
    }
  }
  for (const auto& w : ctx.written)
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  return out;
}

int verbosity_from(const po::variables_map& vm, int argc, char** argv) {
  (void)vm;
  int v = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;  // the rest belongs to a launched command
    if (a == "--verbose")
      ++v;
    else if (a.size() >= 2 && a[0] == '-' && a[1] == 'v' &&
             a.find_first_not_of('v', 1) == std::string::npos)
      v += static_cast<int>(a.size() - 1);
  }
  return v;
}

int run(int argc, char** argv) {
  GlobalOptions g;
  std::string connect_timeout, deadline;
  fleet::FleetOptions fo;
  po::options_description global = global_options(g, connect_timeout, fo, deadline);
  const bool json_errors = wants_json(argc, argv);

  // Find the command word: the first argument that is not an option or the
  // value of a global option.
  int cmd_index = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (!a.empty() && a[0] == '-') {
      if (kValueOptions.count(a)) ++i;
      continue;
    }
    cmd_index = i;
    break;
  }
  if (cmd_index < 0) {
    bool help = false;
    for (int i = 1; i < argc; ++i)
      if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) help = true;
    for (int i = 1; i < argc; ++i)
      if (!std::strcmp(argv[i], "--version")) {
        std::printf("sonde %s (protocol %d)\n", kSondeVersion, kProtocolVersion);
        return 0;
      }
    if (help) {
      print_usage(global);
      return 0;
    }
    if (!json_errors) print_usage(global);
    return usage_error("", json_errors, "no command given",
                       "sonde COMMAND TARGET, e.g. `sonde ps local` (sonde --help lists them)");
  }
  std::string name = argv[cmd_index];
  // A family's second word: `sonde jvm list TARGET` is the command "jvm list".
  int sub_index = -1;
  auto two_words = [&](int at) {
    if (at + 1 >= argc) return false;
    std::string both = std::string(argv[at]) + " " + argv[at + 1];
    for (const auto& c : all_commands())
      if (both == c.name) return true;
    return false;
  };
  // The commands of a family ("jvm", "case"): `jvm list`, `jvm threads`, ...
  auto family_of = [](const std::string& family) {
    std::vector<const CommandSpec*> v;
    for (const auto& c : all_commands())
      if (std::strncmp(c.name, (family + " ").c_str(), family.size() + 1) == 0) v.push_back(&c);
    return v;
  };
  if (name == "help") {
    if (cmd_index + 1 >= argc) {
      print_usage(global);
      return 0;
    }
    name = argv[cmd_index + 1];
    if (two_words(cmd_index + 1)) name += std::string(" ") + argv[cmd_index + 2];
    for (const auto& c : all_commands())
      if (name == c.name) {
        print_command_help(c);
        return 0;
      }
    if (auto members = family_of(name); !members.empty()) {
      std::printf("sonde %s: %zu commands (sonde help %s SUBCOMMAND for one)\n\n", name.c_str(),
                  members.size(), name.c_str());
      for (const auto* c : members) std::printf("  sonde %s\n      %s\n", c->synopsis, c->summary);
      return 0;
    }
    return usage_error("help", json_errors, "no command `" + name + "`",
                       "`sonde --help` lists the commands");
  }
  if (two_words(cmd_index)) {
    sub_index = cmd_index + 1;
    name += std::string(" ") + argv[sub_index];
  }
  const CommandSpec* spec = nullptr;
  for (const auto& c : all_commands())
    if (name == c.name) spec = &c;
  if (!spec) {
    if (auto members = family_of(name); !members.empty()) {
      std::string subs;
      for (const auto* c : members)
        subs += std::string(subs.empty() ? "" : ", ") + (c->name + name.size() + 1);
      // The hint is the first one's own synopsis: its arguments are its own
      // (`case new NAME`, `jvm list TARGET`).
      return usage_error(name, json_errors, "which one? " + subs,
                         fmt::format("sonde {} (sonde help {})", members[0]->synopsis, name));
    }
    return usage_error("", json_errors, "unknown command `" + name + "`",
                       "`sonde --help` lists the commands");
  }

  CommandContext ctx;
  ctx.command = spec->name;
  po::options_description own(std::string("Options for ") + spec->name);
  if (spec->options) spec->options(own);
  std::set<std::string> taken;
  for (const char* sn : {"i", "F", "x"})
    if (own.find_nothrow(std::string("-") + sn, false)) taken.insert(sn);
  po::options_description all;
  all.add(taken.empty() ? global : global_options(g, connect_timeout, fo, deadline, taken))
      .add(own);
  all.add_options()("target", po::value<std::string>(), "target");
  po::positional_options_description pos;
  pos.add("target", 1);
  for (const char* p : spec->positionals) pos.add(p, 1);
  if (spec->rest_positional) pos.add(spec->rest_positional, -1);

  // Everything after the first `--` belongs to the command (trace's CMD ARGS):
  // program_options must not see it as options or extra positionals.
  std::vector<std::string> args;
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i)
    if (i != cmd_index && i != sub_index) args.push_back(argv[i]);
  if (i < argc) {
    if (!spec->takes_rest)
      return usage_error(spec->name, json_errors, "takes no arguments after `--`",
                         std::string("sonde ") + spec->synopsis);
    ctx.rest.assign(argv + i + 1, argv + argc);
  }
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), ctx.vm);
    po::notify(ctx.vm);
  } catch (const po::error& e) {
    return usage_error(spec->name, json_errors, e.what(),
                       fmt::format("sonde {} (sonde help {})", spec->synopsis, spec->name));
  }
  if (ctx.vm.count("help")) {
    print_command_help(*spec);
    return 0;
  }
  g.verbosity = verbosity_from(ctx.vm, argc, argv);
  auto ms = parse_duration_ms(connect_timeout);
  if (!ms || *ms <= 0)
    return usage_error(spec->name, json_errors,
                       "--connect-timeout `" + connect_timeout + "` is not a duration",
                       "durations look like 5s, 500ms or 1m");
  g.connect_timeout_ms = *ms;
  ctx.g = g;
  if (!deadline.empty()) {
    auto d = parse_duration_ms(deadline);
    if (!d || *d <= 0)
      return usage_error(spec->name, json_errors, "--deadline `" + deadline + "` is not a duration",
                         "durations look like 30s or 2m");
    fo.deadline_ms = *d;
  }
  if (ctx.vm.count("target")) ctx.target = ctx.vm["target"].as<std::string>();
  const bool fleet_run = spec->needs_target && fleet::is_fleet_target(ctx.target, fo);
  if (spec->needs_target && ctx.target.empty() && g.via.empty() && !fleet_run)
    return usage_error(spec->name, json_errors, "missing TARGET",
                       fmt::format("sonde {} (TARGET `local` is this machine)", spec->synopsis));
  setup_logging("sonde", g.verbosity);
  install_interrupt_handler();
  // The case journal: when a case is active (or --case), every command
  // records itself here, from what its sessions saw. No case: one small read.
  std::string case_name =
      casefile::case_for(spec->name, ctx.vm.count("case") ? ctx.vm["case"].as<std::string>() : "");
  auto run_it = [&] {
    return fleet_run ? fleet::run_fleet(*spec, ctx, fo) : run_command(*spec, ctx);
  };
  if (case_name.empty()) return run_it();
  casefile::CaseRecorder recorder;
  ctx.observer = &recorder;
  casefile::FleetJournal fleet_journal;
  if (fleet_run) ctx.fleet_journal = &fleet_journal;
  long started = monotonic_ms();
  int code = run_it();
  casefile::Invocation inv;
  inv.argv.push_back("sonde");
  for (int k = 1; k < argc; ++k) inv.argv.push_back(argv[k]);
  inv.command = spec->name;
  inv.target = ctx.target;
  inv.case_name = case_name;
  inv.redact = ctx.vm.count("no-redact") == 0;
  inv.duration_ms = monotonic_ms() - started;
  inv.exit = code;
  // A fleet run's files are each host's own (out.web01.pcap): it lists them.
  inv.outputs = fleet_run ? ctx.written : output_files(ctx);
  inv.clocks = recorder.clocks();
  if (fleet_run) inv.fleet = std::move(fleet_journal);
  try {
    casefile::record_command(inv, recorder.ops());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sonde: warning: not recorded in case `%s`: %s\n", case_name.c_str(),
                 e.what());
  }
  return code;
}

}  // namespace
}  // namespace sonde::controller

int main(int argc, char** argv) {
  try {
    return sonde::controller::run(argc, argv);
  } catch (const std::exception& e) {
    // A bug of sonde's own: its own exit code, not one of the documented ones.
    // With --json it is a JSON document on stdout too, as every error is.
    sonde::controller::report_error(
        sonde::Error{sonde::errc::kInternal, std::string("internal error: ") + e.what(),
                     "this is a bug in sonde; -vv shows what led to it"},
        "", sonde::controller::wants_json(argc, argv), stdout, stderr,
        sonde::controller::exit_code::kInternal);
    return sonde::controller::exit_code::kInternal;
  }
}
