// sonde inject TARGET: provoke a failure to reproduce it. Syscall faults in
// a running process (-p) or a command sonde launches (-- CMD), with strace's
// -e inject= rules; network faults on the host (inject_net.cpp). Every
// injection is time-boxed and undone: a traced process is detached (a
// launched one ends with the run), a network fault is removed.
#include "inject_net.h"
#include "trace_events.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>

#include "../cli/command.h"
#include "../cli/pick.h"
#include "sonde/common/io.h"
#include "sonde/common/json_text.h"
#include "sonde/ptrace/trace_contract.h"
#include "sonde/render/table.h"
#include "sonde/render/trace.h"

namespace sonde::controller {
namespace {

constexpr long kDefaultAttachMs = 30000;

Error inject_usage(std::string msg, std::string hint = "sonde help inject") {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

// -e inject=... and fault=... are rules; trace=SET also shows those calls.
Status add_inject_expr(const std::string& e, ptrace::TraceArgs& a) {
  auto eq = e.find('=');
  std::string key = eq == std::string::npos ? "" : e.substr(0, eq);
  if (key == "inject" || key == "fault") {
    if (eq + 1 == e.size()) return inject_usage("-e " + key + "= needs a rule");
    a.inject.push_back(e);
    return ok_status();
  }
  if (key == "trace" || key == "t") {
    a.filter += (a.filter.empty() ? "" : ",") + e.substr(eq + 1);
    return ok_status();
  }
  return inject_usage("-e " + e + " is not an inject rule",
                      "-e inject=SET:error=ERRNO|retval=N|signal=SIG|delay_enter=D|delay_exit=D"
                      "[:when=EXPR], or -e trace=SET to show more calls");
}

// What -P, --fd and --peer add to every rule.
std::string rule_filters(const po::variables_map& vm) {
  std::string f;
  if (vm.count("fd")) f += ":fd=" + std::to_string(vm["fd"].as<int>());
  if (vm.count("peer")) {
    std::string peer = vm["peer"].as<std::string>();
    if (vm.count("port") && peer.find(':') == std::string::npos)
      peer += ":" + std::to_string(vm["port"].as<int>());
    f += ":peer=" + peer;
  }
  if (vm.count("path")) f += ":path=" + vm["path"].as<std::string>();  // last: takes the rest
  return f;
}

std::string injected_table(const ptrace::TraceResult& r) {
  render::Table t({{"SYSCALL"}, {"INJECTED", render::Align::kRight}, {"FIRST"}, {"LAST"}});
  for (const auto& i : r.injected)
    t.add_row({i.name, std::to_string(i.count), render::format_trace_time(i.first_ns, 2),
               render::format_trace_time(i.last_ns, 2)});
  return t.render();
}

int run_syscall_inject(CommandContext& ctx) {
  const auto& vm = ctx.vm;
  ptrace::TraceArgs args;
  if (vm.count("pid")) {
    auto p = parse_pid_list(vm["pid"].as<std::vector<std::string>>());
    if (!p) return ctx.fail(p.error());
    args.pids = std::move(*p);
  }
  const bool launch = !ctx.rest.empty();
  const bool by_name = vm.count("pgrep") > 0;
  if (by_name && (launch || !args.pids.empty()))
    return ctx.fail(inject_usage("--pgrep names the process: not with -p or a command"));
  if (by_name) args.pids = {1};  // replaced by the picked pid once connected
  if (launch) args.argv = ctx.rest;
  for (const auto& e : vm["expr"].as<std::vector<std::string>>())
    if (auto st = add_inject_expr(e, args); !st.ok()) return ctx.fail(st.error());
  if (args.inject.empty())
    return ctx.fail(inject_usage("nothing to inject: give -e inject=RULE",
                                 "e.g. -e inject=openat:error=ENOENT:when=3+"));
  const std::string filters = rule_filters(vm);
  for (auto& r : args.inject) r += filters;
  args.follow_forks = vm["follow-forks"].as<bool>();
  args.force = vm["force"].as<bool>();
  args.plan = vm["plan"].as<bool>();
  args.seccomp = !vm["no-seccomp"].as<bool>();
  args.colocate = vm["colocate"].as<bool>();
  args.structured = ctx.g.json;
  if (vm.count("probability")) args.probability = vm["probability"].as<double>();
  if (vm.count("count")) {
    long n = vm["count"].as<long>();
    if (n <= 0) return ctx.fail(inject_usage("--count must be at least 1"));
    args.inject_count = static_cast<uint64_t>(n);
  }
  if (vm.count("seed")) args.seed = vm["seed"].as<uint64_t>();
  if (vm.count("duration")) {
    auto ms = parse_duration_ms(vm["duration"].as<std::string>());
    if (!ms || *ms <= 0)
      return ctx.fail(inject_usage("--duration is not a duration", "e.g. 30s, 2m"));
    args.duration_ms = *ms;
  } else if (!launch) {
    // A running process is changed only for a bounded time.
    args.duration_ms = kDefaultAttachMs;
  }
  if (auto st = ptrace::validate(args); !st) return ctx.fail(st.error());

  auto s = ctx.connect();
  if (!s) return ctx.fail(s.error());
  auto picked = pgrep_pid(vm, **s);
  if (!picked) return ctx.fail(picked.error());
  if (*picked) args.pids = {**picked};

  render::TraceLineOptions lo;
  lo.always_pid = args.follow_forks || args.pids.size() > 1;
  render::TraceLinePrinter printer(lo);
  const bool as_json = ctx.g.json;
  auto on_event = [&](const json& data) -> Status {
    Status st = for_each_trace_event(data, "inject", [&](const TraceEventView& v) {
      if (as_json) {
        if (v.type == "syscall") std::fputs((json_text(v.ev) + "\n").c_str(), ctx.out);
        return;
      }
      if (v.type == "attached" || v.type == "detached") {
        std::fputs(attach_note(v).c_str(), ctx.err);
        return;
      }
      std::string line = printer.line(v.ev);
      if (!line.empty()) std::fputs(line.c_str(), ctx.out);
    });
    std::fflush(ctx.out);
    return st;
  };
  auto sum = run_trace_op(**s, args, on_event, ctx.err);
  if (!sum) return ctx.fail(sum.error());

  if (as_json) {
    json result = ptrace::to_json(*sum);
    result["host"] = (*s)->host();
    ctx.print_json(std::move(result));
  } else if (args.plan) {
    std::fprintf(ctx.out, "sonde inject --plan on %s:\n", (*s)->host().c_str());
    for (const auto& line : sum->plan)
      std::fprintf(ctx.out, "  %s\n", render::terminal_safe(line).c_str());
  } else {
    std::string why = sum->stopped == "count"       ? "--count reached"
                      : sum->stopped == "duration"  ? "--duration over"
                      : sum->stopped == "cancelled" ? "interrupted"
                      : sum->stopped == "cleared"   ? "ended by sonde inject --clear"
                                                    : "the process exited";
    std::fprintf(ctx.out, "sonde: %llu fault%s injected (%s)\n",
                 static_cast<unsigned long long>(sum->injected_total),
                 sum->injected_total == 1 ? "" : "s", why.c_str());
    if (!sum->injected.empty()) std::fputs(injected_table(*sum).c_str(), ctx.out);
    if (sum->exit_code && printer.exits_printed() == 0)
      std::fprintf(ctx.err, "+++ exited with %d +++\n", *sum->exit_code);
    if (!sum->killed_by.empty() && printer.exits_printed() == 0)
      std::fprintf(ctx.err, "+++ killed by %s +++\n", sum->killed_by.c_str());
  }
  std::fflush(ctx.out);
  if (sum->events_lost > 0)
    std::fprintf(ctx.err, "sonde: %llu events lost (the link was slower than the target)\n",
                 static_cast<unsigned long long>(sum->events_lost));
  // The launched command's status is the run's, as a test runner expects.
  return traced_exit_code(*sum);
}

}  // namespace

CommandSpec inject_command() {
  CommandSpec c;
  c.name = "inject";
  c.summary =
      "provoke failures: syscall faults in a process (strace's -e inject=) or network faults "
      "on the host, time-boxed and always undone";
  c.synopsis =
      "inject TARGET (-p PID | --pgrep REGEX | -- CMD ARGS...) -e "
      "inject=SET:error=ERRNO[:when=EXPR] "
      "[-P PATH] [--fd N] [--peer ADDR[:PORT]] [--probability P] [--count N] [--duration 30s] "
      "[-f] [--plan] [--force]\n"
      "       inject TARGET (--delay 100ms [--jitter 10ms] | --loss 5% | --rate 1mbit | "
      "--duplicate 1% | --reorder 25% | --reset | --blackhole) [--peer ADDR] [--port N] [-p PID "
      "| --netns NAME] [--duration 30s] [--plan] [--force]\n"
      "       inject TARGET --list | --clear";
  c.takes_rest = true;
  c.options = [](po::options_description& o) {
    o.add_options()("pid,p", po::value<std::vector<std::string>>(),
                    "the running process to inject into (every thread); with network faults, "
                    "the process whose network namespace they apply to")(
        "pgrep", po::value<std::string>(), kPgrepHelp)(
        "expr,e", po::value<std::vector<std::string>>()->default_value({}, ""),
        "inject=SET:ACTION[:when=EXPR] as strace takes it (ACTION: error=ERRNO, retval=N, "
        "signal=SIG, delay_enter=D, delay_exit=D; when=F, F..L, F+, F+S, F..L+S), fault=SET "
        "(ENOSYS), or trace=SET to also show those calls; repeatable, several rules per syscall")(
        "path,P", po::value<std::string>(),
        "only calls on this path: a path argument, or the file an fd argument is open on")(
        "fd", po::value<int>(), "only calls whose first argument is this fd")(
        "probability", po::value<double>(),
        "each time a rule fires, inject with this chance (0 < P <= 1)")(
        "count", po::value<long>(),
        "inject at most N faults in all; a running process is then detached")(
        "seed", po::value<uint64_t>(), "seed for --probability, to repeat a run exactly")(
        "follow-forks,f", po::bool_switch(), "also inject into children (forks, clones)")(
        "duration", po::value<std::string>(),
        "how long the faults stay (default 30s for a running process and for network "
        "faults; a launched command: until it exits); at most 10m without --force")(
        "plan", po::bool_switch(), "print what would change, and change nothing")(
        "force", po::bool_switch(), "allow PID 1, kernel threads, and more than 10 minutes")(
        "no-seccomp", po::bool_switch(),
        "launch mode: stop at every syscall instead of filtering in the kernel")(
        "colocate", po::bool_switch(),
        "run the tracer on the target's CPU and pin the target there while injecting: "
        "cheaper stops; the CPU affinity is restored after");
    add_net_inject_options(o);
  };
  c.run = [](CommandContext& ctx) -> int {
    const bool syscall =
        !ctx.vm["expr"].as<std::vector<std::string>>().empty() || !ctx.rest.empty();
    if (wants_net_inject(ctx.vm)) {
      if (syscall)
        return ctx.fail(
            inject_usage("syscall faults (-e inject=) and network faults are separate runs",
                         "run sonde inject twice, e.g. in two terminals"));
      return run_net_inject(ctx);
    }
    return run_syscall_inject(ctx);
  };
  return c;
}

}  // namespace sonde::controller
