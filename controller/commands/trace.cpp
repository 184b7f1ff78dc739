// sonde trace TARGET: strace-style syscall tracing of running processes (-p)
// or of a command sonde launches (-- CMD ARGS), live lines or a -c table.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "../cli/command.h"
#include "../cli/pick.h"
#include "sonde/common/io.h"
#include "sonde/common/json_text.h"
#include "sonde/ptrace/trace_contract.h"
#include "sonde/render/table.h"
#include "sonde/render/trace.h"
#include "trace_events.h"

namespace sonde::controller {
namespace {

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};

Error usage(std::string msg, std::string hint = "sonde help trace") {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

// strace's -e: "trace=SET", "status=failed", or a bare SET meaning trace=SET.
Status apply_expr(const std::string& e, std::string& filter, bool& failed_only) {
  std::string key = "trace", value = e;
  if (auto eq = e.find('='); eq != std::string::npos) {
    key = e.substr(0, eq);
    value = e.substr(eq + 1);
  }
  if (key == "trace" || key == "t") {
    if (value.empty()) return usage("-e trace= needs syscall names or %classes");
    filter += (filter.empty() ? "" : ",") + value;
    return ok_status();
  }
  if (key == "status") {
    if (value == "failed" || value == "!successful") {
      failed_only = true;
      return ok_status();
    }
    return usage("-e status=" + value + " is not supported", "use -e status=failed");
  }
  return usage("-e " + key + "= is not supported",
               "supported: -e trace=NAMES|%CLASS (with ! to negate), -e status=failed");
}

// A flag that may be repeated and counts how often: -t, -tt (= -t -t), -ttt.
// bool_switch refuses a second occurrence, and an optional value would take
// the next word (`-t local`) as its value.
class CountedSwitch : public po::value_semantic {
 public:
  std::string name() const override { return ""; }
  unsigned min_tokens() const override { return 0; }
  unsigned max_tokens() const override { return 0; }
  bool is_composing() const override { return true; }
  bool is_required() const override { return false; }
  void parse(boost::any& v, const std::vector<std::string>&, bool) const override {
    v = v.empty() ? 1 : boost::any_cast<int>(v) + 1;
  }
  bool apply_default(boost::any&) const override { return false; }
  void notify(const boost::any&) const override {}
};

// -ff -o FILE: each traced thread's lines in FILE.TID, as strace writes them,
// each file with its own printer (no "[pid N]" prefix). At most kOpen files
// are open at once: past that, or when the process is out of fds first, the
// least recently written is closed, and opened again to append when needed.
class PerPidFiles {
 public:
  PerPidFiles(std::string base, render::TraceLineOptions lo) : base_(std::move(base)), lo_(lo) {}
  ~PerPidFiles() {
    for (auto& [pid, f] : files_)
      if (f.file) std::fclose(f.file);
  }

  Status write(long long pid, const json& ev) {
    auto [it, fresh] = files_.try_emplace(pid, lo_);
    PidFile& f = it->second;
    std::string line = f.printer.line(ev);
    if (line.empty()) return ok_status();
    if (!f.file) {
      while (lru_.size() >= kOpen)
        if (Status st = close_oldest(); !st.ok()) return st;
      std::string path = fmt::format("{}.{}", base_, pid);
      f.file = std::fopen(path.c_str(), f.opened ? "a" : "w");
      // Out of fds before kOpen (a low ulimit): close ours, oldest first.
      while (!f.file && (errno == EMFILE || errno == ENFILE) && !lru_.empty()) {
        if (Status st = close_oldest(); !st.ok()) return st;
        f.file = std::fopen(path.c_str(), f.opened ? "a" : "w");
      }
      if (!f.file) return errno_error("open " + path, errno, "check the -o path");
      f.opened = true;
      lru_.push_front(pid);
      f.use = lru_.begin();
    } else if (f.use != lru_.begin()) {
      lru_.splice(lru_.begin(), lru_, f.use);
    }
    if (std::fputs(line.c_str(), f.file) < 0)
      return Error{errc::kIo, fmt::format("writing {}.{} failed", base_, pid), "is the disk full?"};
    return ok_status();
  }
  size_t exits_printed() const {
    size_t n = 0;
    for (const auto& [pid, f] : files_) n += f.printer.exits_printed();
    return n;
  }
  // Closes every file; the first write error, if any.
  Status close_all() {
    Status st = ok_status();
    while (!lru_.empty())
      if (Status one = close_oldest(); !one.ok() && st.ok()) st = one;
    return st;
  }

  // Every open file flushed; the first write error, if any.
  Status flush() {
    for (auto& [pid, f] : files_)
      if (f.file && (std::fflush(f.file) != 0 || std::ferror(f.file)))
        return Error{errc::kIo, fmt::format("writing {}.{} failed", base_, pid),
                     "is the disk full?"};
    return ok_status();
  }

 private:
  static constexpr size_t kOpen = 256;
  struct PidFile {
    explicit PidFile(render::TraceLineOptions o) : printer(o) {}
    render::TraceLinePrinter printer;
    FILE* file = nullptr;
    bool opened = false;
    std::list<long long>::iterator use;  // its place in lru_ while open
  };
  // Closes the least recently written file (a later line opens it again to
  // append); its write error, if any.
  Status close_oldest() {
    long long pid = lru_.back();
    lru_.pop_back();
    PidFile& f = files_.at(pid);
    bool bad = std::ferror(f.file) != 0;
    bad = std::fclose(f.file) != 0 || bad;
    f.file = nullptr;
    if (bad)
      return Error{errc::kIo, fmt::format("writing {}.{} failed", base_, pid), "is the disk full?"};
    return ok_status();
  }
  std::string base_;
  render::TraceLineOptions lo_;
  std::map<long long, PidFile> files_;
  std::list<long long> lru_;  // the pids with an open file, most recently written first
};

}  // namespace

CommandSpec trace_command() {
  CommandSpec c;
  c.name = "trace";
  c.summary = "strace-style syscall tracing of running processes (-p) or of a command (-- CMD)";
  c.synopsis =
      "trace TARGET (-p PID... | --pgrep REGEX | -- CMD ARGS...) [-f|-ff] [-c [--per-process]] "
      "[-e trace=EXPR] [-e status=failed] [-s N] [-y|-yy] [-t|-tt|-ttt] [-T] [-o FILE] "
      "[--duration 10s] [--no-seccomp] [--colocate]";
  c.takes_rest = true;
  c.options = [](po::options_description& o) {
    o.add_options()("pid,p", po::value<std::vector<std::string>>(),
                    "trace this running process and all its threads (repeatable; "
                    "1,2 also works); it keeps running after sonde detaches")(
        "pgrep", po::value<std::string>(),
        "trace the oldest process whose name or command line matches REGEX (like pgrep -o -f): "
        "the same process on every host of a fleet, whatever its pid")(
        "follow-forks,f", new CountedSwitch,
        "also trace children (forks, vforks, clones); without it a launched command's "
        "children are not shown or counted. -ff with -o FILE writes each thread's lines to "
        "FILE.PID")(
        "summary-only,c", po::bool_switch(),
        "count calls, errors and time per syscall and print a table at the end; only the "
        "table crosses the network")(
        "per-process", po::bool_switch(),
        "with -c -f: a table for each process after the one summed over all of them")(
        "by-host", po::bool_switch(),
        "with -c over several hosts: one column of calls per host instead of the merged "
        "table's n/N and worst host")(
        "expr,e", po::value<std::vector<std::string>>(),
        "trace=NAMES|%file|%network|%process|%memory|%signal|%desc|%ipc (! negates), or "
        "status=failed; a bare EXPR means trace=EXPR")(
        "string-limit,s", po::value<long>(), "show at most N bytes of strings and buffers (32)")(
        "decode-fds,y", new CountedSwitch,
        "show what each fd is: 3</etc/hosts>, 5<TCP:[a->b]>; -yy is the same (sockets always "
        "show their addresses)")(
        "absolute-timestamps,t", new CountedSwitch,
        "prefix each line with the time of day; -tt adds microseconds, -ttt epoch seconds")(
        "syscall-times,T", po::bool_switch(), "show the time spent in each syscall")(
        "output,o", po::value<std::string>(), "write the trace (or the -c table) to FILE")(
        "duration", po::value<std::string>(),
        "detach after this long (e.g. 10s, 500ms); default: until Ctrl-C or the tracees exit")(
        "no-seccomp", po::bool_switch(),
        "launch mode with -e trace=: stop on every syscall instead of filtering in the kernel")(
        "colocate", po::bool_switch(),
        "run the tracer on the tracee's CPU and pin the tracee there while tracing: much "
        "cheaper stops; the original CPU affinity is restored on detach");
  };
  c.run = [](CommandContext& ctx) -> int {
    const auto& vm = ctx.vm;
    std::vector<int> pids;
    if (vm.count("pid")) {
      auto p = parse_pid_list(vm["pid"].as<std::vector<std::string>>());
      if (!p) return ctx.fail(p.error());
      pids = std::move(*p);
    }
    bool launch = !ctx.rest.empty();
    const bool by_name = vm.count("pgrep") > 0;
    if (by_name && (launch || !pids.empty()))
      return ctx.fail(usage("--pgrep names the process: not with -p or a command"));
    // Replaced by the picked pid once connected.
    if (by_name) pids = {1};
    ptrace::TraceArgs args;
    args.pids = std::move(pids);
    if (launch) args.argv = ctx.rest;
    if (vm.count("expr"))
      for (const auto& e : vm["expr"].as<std::vector<std::string>>())
        if (auto st = apply_expr(e, args.filter, args.failed_only); !st.ok())
          return ctx.fail(st.error());

    render::TraceLineOptions lo;
    if (vm.count("absolute-timestamps")) {
      lo.timestamps = vm["absolute-timestamps"].as<int>();
      if (lo.timestamps > 3) return ctx.fail(usage("-t may be given at most three times (-ttt)"));
    }
    lo.durations = vm["syscall-times"].as<bool>();
    const int follow = vm.count("follow-forks") ? vm["follow-forks"].as<int>() : 0;
    if (follow > 2) return ctx.fail(usage("-f may be given at most twice (-ff)"));
    args.follow_forks = follow > 0;
    lo.always_pid = args.follow_forks || args.pids.size() > 1;
    args.summary_only = vm["summary-only"].as<bool>();
    const bool summary_only = args.summary_only;
    const bool per_process = vm["per-process"].as<bool>();
    if (per_process && !summary_only)
      return ctx.fail(usage("--per-process splits the -c table",
                            "e.g. sonde trace local -c -f "
                            "--per-process -- make"));
    // strace: -ff without -o is -f.
    const bool file_per_pid = follow > 1 && vm.count("output") && !summary_only && !ctx.g.json;
    if (vm["by-host"].as<bool>()) {
      if (!summary_only)
        return ctx.fail(
            usage("--by-host goes with -c", "e.g. sonde trace web[01-04] -c --by-host -p PID"));
      if (!ctx.g.handshake_gate)
        return ctx.fail(usage("--by-host compares hosts: give several",
                              "e.g. sonde trace web[01-04] -c --by-host -p PID"));
    }
    const int fd_level = vm.count("decode-fds") ? vm["decode-fds"].as<int>() : 0;
    if (fd_level > 2) return ctx.fail(usage("-y may be given at most twice (-yy)"));
    args.annotate_fds = fd_level > 0;
    args.seccomp = !vm["no-seccomp"].as<bool>();
    args.colocate = vm["colocate"].as<bool>();
    // Per-argument JSON only when it will be printed.
    args.structured = ctx.g.json;
    if (vm.count("string-limit")) args.string_limit = vm["string-limit"].as<long>();
    if (vm.count("duration")) {
      auto ms = parse_duration_ms(vm["duration"].as<std::string>());
      if (!ms || *ms <= 0)
        return ctx.fail(usage("--duration is not a duration", "e.g. 10s, 500ms, 2m"));
      args.duration_ms = *ms;
    }
    if (auto st = ptrace::validate(args); !st) return ctx.fail(st.error());

    std::unique_ptr<FILE, FileCloser> file;
    std::unique_ptr<PerPidFiles> per_pid;
    FILE* out = ctx.out;
    if (file_per_pid) {
      render::TraceLineOptions one = lo;
      one.always_pid = false;
      per_pid = std::make_unique<PerPidFiles>(vm["output"].as<std::string>(), one);
    } else if (vm.count("output")) {
      std::string path = vm["output"].as<std::string>();
      file.reset(std::fopen(path.c_str(), "w"));
      if (!file) return ctx.fail(errno_error("open " + path, errno, "check the -o path"));
      out = file.get();
    }

    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    auto picked = pgrep_pid(vm, **s);
    if (!picked) return ctx.fail(picked.error());
    if (*picked) args.pids = {**picked};

    const bool as_json = ctx.g.json;
    auto dump = [](const json& j) { return json_text(j) + "\n"; };
    render::TraceLinePrinter printer(lo);
    Status write_status = ok_status();
    auto on_event = [&](const json& data) -> Status {
      Status st = for_each_trace_event(data, "trace", [&](const TraceEventView& v) {
        if (as_json) {
          if (!summary_only) std::fputs(dump(v.ev).c_str(), out);
          return;
        }
        // Like strace, attach and detach notes go to stderr, not the trace
        // (the printer still sees them: several threads attached, every
        // line says whose it is).
        if (!launch && (v.type == "attached" || v.type == "detached")) {
          (void)printer.line(v.ev);
          std::fputs(attach_note(v).c_str(), ctx.err);
          return;
        }
        // -c prints only the table, like strace -c.
        if (summary_only) return;
        if (per_pid) {
          if (Status w = per_pid->write(v.pid, v.ev); !w.ok() && write_status.ok())
            write_status = w;
          return;
        }
        std::string line = printer.line(v.ev);
        if (!line.empty()) std::fputs(line.c_str(), out);
      });
      if (per_pid)
        if (Status w = per_pid->flush(); !w.ok() && write_status.ok()) write_status = w;
      std::fflush(out);
      return st;
    };

    auto sum = run_trace_op(**s, args, on_event, ctx.err);
    std::fflush(out);
    if (!sum) return ctx.fail(sum.error());

    if (as_json) {
      json result = ptrace::to_json(*sum);
      result["host"] = (*s)->host();
      std::fputs(dump(result).c_str(), out);
    } else if (summary_only) {
      std::fputs(render::render_trace_summary(*sum, per_process).c_str(), out);
    } else if (sum->exit_code && printer.exits_printed() == 0 &&
               (!per_pid || per_pid->exits_printed() == 0)) {
      // The exit event itself was lost or filtered: still say how it ended.
      std::fprintf(out, "+++ exited with %d +++\n", *sum->exit_code);
    }
    std::fflush(out);
    if (!as_json && summary_only && sum->exit_code)
      std::fprintf(ctx.err, "+++ exited with %d +++\n", *sum->exit_code);

    if (sum->events_lost > 0)
      std::fprintf(ctx.err,
                   "sonde: %llu events lost (the link was slower than the target; narrow with "
                   "-e trace=, or count with -c)\n",
                   static_cast<unsigned long long>(sum->events_lost));
    if (file && std::ferror(file.get()))
      return ctx.fail(
          Error{errc::kIo, "writing " + vm["output"].as<std::string>() + " failed", {}});
    if (per_pid)
      if (Status w = per_pid->close_all(); !w.ok() && write_status.ok()) write_status = w;
    if (!write_status.ok()) return ctx.fail(write_status.error());
    // As strace: a launched command's status is sonde's; Ctrl-C is 130.
    return traced_exit_code(*sum);
  };
  return c;
}

}  // namespace sonde::controller
