// sonde profile TARGET (-p PID | -- CMD): a sampling CPU (or wall-clock)
// profile. The agent samples, unwinds and symbolizes on the target; here we
// print the top functions and write the flame graph (or pprof, speedscope,
// folded stacks) locally.
#include <unistd.h>

#include <cstdio>

#include "../cli/command.h"
#include "../cli/pick.h"
#include "../cli/status_line.h"
#include "sonde/common/io.h"
#include "sonde/profiler/export.h"
#include "sonde/profiler/profile_contract.h"
#include "sonde/render/profile.h"
#include "sonde/render/table.h"

namespace sonde::controller {
namespace {

Error usage(std::string msg, std::string hint = "sonde help profile") {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

std::string seconds(uint64_t ms) {
  return fmt::format("{:.0f}s", static_cast<double>(ms) / 1000);
}

}  // namespace

CommandSpec profile_command() {
  CommandSpec c;
  c.name = "profile";
  c.summary =
      "sampling profile of a process (-p) or a command (-- CMD): top functions and a "
      "flame graph";
  c.synopsis =
      "profile TARGET (-p PID | --pgrep REGEX | -- CMD ARGS...) [--hz 99] [--duration 30s] [--mode "
      "cpu|wall] "
      "[--sampler auto|perf|ptrace] [-o FILE] [--format svg|folded|pprof|speedscope|json] "
      "[--top 20] [--by-host] [--diff-base HOSTS]";
  c.takes_rest = true;
  c.options = [](po::options_description& o) {
    o.add_options()("pid,p", po::value<long>(), "profile this running process, all its threads")(
        "pgrep", po::value<std::string>(), kPgrepHelp)("hz", po::value<long>()->default_value(99),
                                                       "samples per second per thread")(
        "duration", po::value<std::string>(),
        "how long (e.g. 30s, 2m); default 30s for -p, until the command exits for -- CMD")(
        "mode", po::value<std::string>()->default_value("cpu"),
        "cpu: where CPU time goes; wall: every thread all the time, blocked ones in their "
        "syscall (for processes that hang rather than burn CPU)")(
        "sampler", po::value<std::string>()->default_value("auto"),
        "auto: perf_event when permitted, else ptrace snapshots; or force perf / ptrace")(
        "output,o", po::value<std::string>(),
        "write the profile here; the format follows the extension: .svg, .folded, .pb.gz, "
        ".speedscope.json, .json (default sonde-profile-PID.svg)")(
        "format", po::value<std::string>(), "svg|folded|pprof|speedscope|json, overriding -o's")(
        "top", po::value<long>()->default_value(20), "functions in the table")(
        "by-host", po::bool_switch(),
        "fleet: each host a frame under the flame graph's root (folded lines and pprof "
        "samples always name the host)")(
        "diff-base", po::value<std::string>(),
        "fleet: a differential flame graph of the other hosts against these (e.g. "
        "web[01-05]), each host weighed the same; svg or folded");
  };
  c.run = [](CommandContext& ctx) -> int {
    const auto& vm = ctx.vm;
    bool launch = !ctx.rest.empty();
    const bool by_name = vm.count("pgrep") > 0;
    if (by_name && (launch || vm.count("pid")))
      return ctx.fail(usage("give one of -p PID, --pgrep REGEX and -- CMD"));
    // --pgrep's pid is picked on the host, once connected.
    long pid = vm.count("pid") ? vm["pid"].as<long>() : by_name ? 1 : 0;
    // -p 0 would read as "no pid" in the args: refuse it while it is still a flag.
    if (vm.count("pid") && (pid <= 0 || pid > INT32_MAX))
      return ctx.fail(usage(fmt::format("-p {} is not a process id", pid)));
    profiler::ProfileArgs args;
    args.pid = static_cast<int>(pid);
    args.argv = ctx.rest;
    args.hz = vm["hz"].as<long>();
    args.mode = vm["mode"].as<std::string>();
    args.sampler = vm["sampler"].as<std::string>();
    long top = vm["top"].as<long>();
    if (top < 0) return ctx.fail(usage("--top must not be negative"));
    if (vm.count("duration")) {
      auto ms = parse_duration_ms(vm["duration"].as<std::string>());
      if (!ms || *ms <= 0) return ctx.fail(usage("--duration is not a duration", "e.g. 30s, 2m"));
      args.duration_ms = *ms;
    } else {
      args.duration_ms = args.effective_duration_ms();
    }
    if (auto st = profiler::validate(args); !st) return ctx.fail(st.error());
    std::string out_path = vm.count("output") ? vm["output"].as<std::string>() : "";
    std::string format = vm.count("format") ? vm["format"].as<std::string>() : "";
    // With --json and no -o the JSON on stdout is the output; otherwise a
    // file is written, by default the flame graph.
    // A fleet run writes one merged file when every host is done
    // (fleet/merge.cpp); each host only returns its profile.
    const bool fleet = ctx.g.handshake_gate != nullptr;
    const bool diff = vm.count("diff-base") > 0;
    if (!fleet && (diff || vm["by-host"].as<bool>()))
      return ctx.fail(
          usage(fmt::format("{} compares hosts: give several", diff ? "--diff-base" : "--by-host"),
                "e.g. sonde profile web[01-20] -p PID --diff-base web[01-05]"));
    bool write_out = !fleet && (!out_path.empty() || !format.empty() || !ctx.g.json);
    profiler::ExportFormat fmt_kind = profiler::ExportFormat::kSvg;
    if (write_out || fleet) {
      auto f = profiler::output_format(out_path, format);
      if (!f) return ctx.fail(f.error());
      fmt_kind = *f;
      if (diff && fmt_kind != profiler::ExportFormat::kSvg &&
          fmt_kind != profiler::ExportFormat::kFolded)
        return ctx.fail(usage("--diff-base draws a flame graph: svg or folded",
                              "e.g. -o diff.svg, or -o diff.folded for flamegraph.pl"));
    }

    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    auto picked = pgrep_pid(vm, **s);
    if (!picked) return ctx.fail(picked.error());
    if (*picked) pid = args.pid = **picked;
    StatusLine status(ctx.err);
    auto on_event = [&](const json& data) -> Status {
      auto ev = profiler::profile_progress_from_json(data);
      if (!ev) return ev.error();
      if (!*ev) return ok_status();
      uint64_t el = (*ev)->elapsed_ms, dur = (*ev)->duration_ms;
      std::string line =
          fmt::format("sonde: profiling {}: {} elapsed{}, {} samples, {} threads",
                      launch ? ctx.rest[0] : "pid " + std::to_string(pid), seconds(el),
                      dur ? ", " + seconds(dur > el ? dur - el : 0) + " left" : "", (*ev)->samples,
                      (*ev)->threads);
      // On a terminal one line rewritten in place; in a log a line every 10 s.
      if (status.tty() || ctx.g.verbosity > 0 || (el / 1000) % 10 == 0) status.show(line);
      return ok_status();
    };
    auto r = (*s)->call("profile", profiler::to_json(args), on_event);
    status.end();
    if (!r) {
      Error e = r.error();
      if (e.code == errc::kNotFound && !launch)
        e.hint =
            "list processes with `sonde ps " + (ctx.target.empty() ? "TARGET" : ctx.target) + "`";
      return ctx.fail(e);
    }
    auto res = profiler::profile_result_from_json(*r);
    if (!res) return ctx.fail(res.error());
    const profiler::Profile* p = &res->profile;
    // The table's header names the sampler and the notes; with --json only
    // stderr can.
    if (ctx.g.json) {
      std::fprintf(ctx.err, "sonde: sampler %s (%s)\n", p->sampler.c_str(),
                   p->sampler_reason.c_str());
      for (const auto& n : p->notes)
        std::fprintf(ctx.err, "sonde: note: %s\n", render::terminal_safe(n).c_str());
    }

    if (write_out) {
      if (out_path.empty())
        out_path = fmt::format("sonde-profile-{}.{}", p->pid, profiler::export_extension(fmt_kind));
      profiler::SvgOptions so;
      so.title = fmt::format("{} ({}) on {}: {} profile, {} samples at {} Hz", p->comm, p->pid,
                             (*s)->host(), p->mode, p->samples, p->hz);
      auto bytes = profiler::export_profile(*p, fmt_kind, so);
      if (!bytes) return ctx.fail(bytes.error());
      if (auto st = sonde::write_file(out_path, *bytes, "check the -o path"); !st)
        return ctx.fail(st.error());
      std::fprintf(ctx.err, "sonde: wrote %s (%s)\n", out_path.c_str(),
                   profiler::export_format_name(fmt_kind));
    }
    if (ctx.g.json) {
      (*r)["host"] = (*s)->host();
      ctx.print_json(*r);
    } else {
      std::fputs(render::render_profile_summary(*p, static_cast<size_t>(top)).c_str(), ctx.out);
    }
    // A launched command's status is sonde's, as under strace; Ctrl-C is 130.
    return launched_exit_code(false, p->exit_code, p->killed_by);
  };
  return c;
}

}  // namespace sonde::controller
