// sonde jvm jfr TARGET -p PID: a Flight Recorder recording taken through
// attach on the target and streamed back over the session into a local
// .jfr file. Ctrl-C ends the recording early; it is still fetched. A short
// summary follows, from the JDK's `jfr` tool when there is one here.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "../cli/command.h"
#include "../cli/status_line.h"
#include "jvm_common.h"
#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"
#include "sonde/jvm/jvm_contract.h"
#include "sonde/render/jvm.h"
#include "sonde/render/table.h"

namespace sonde::controller {
namespace {

bool executable(const std::string& p) {
  return ::access(p.c_str(), X_OK) == 0;
}

// The JDK's jfr tool here: $JAVA_HOME/bin/jfr, then PATH.
std::string find_jfr_tool() {
  if (const char* jh = std::getenv("JAVA_HOME"); jh && *jh)
    if (executable(std::string(jh) + "/bin/jfr")) return std::string(jh) + "/bin/jfr";
  if (const char* path = std::getenv("PATH")) {
    std::string p(path);
    size_t pos = 0;
    while (pos <= p.size()) {
      size_t c = p.find(':', pos);
      std::string dir = p.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
      pos = c == std::string::npos ? p.size() + 1 : c + 1;
      if (!dir.empty() && executable(dir + "/jfr")) return dir + "/jfr";
    }
  }
  return "";
}

// Event counts and hottest methods; notes when the tool is missing or fails.
json summarize(const std::string& file) {
  json s = {{"tool", nullptr}};
  std::string tool = find_jfr_tool();
  if (tool.empty()) {
    s["note"] =
        "no local `jfr` tool (openjdk-17-jdk-headless has it): open the file in JDK "
        "Mission Control, or run `jfr summary` where a JDK is installed";
    return s;
  }
  s["tool"] = tool;
  auto sum = run_capture({tool, "summary", file}, 60000);
  if (!sum || sum->exit_code != 0) {
    s["note"] = "`jfr summary` could not read the file";
    return s;
  }
  json events = json::array();
  for (const auto& [name, count] : render::parse_jfr_summary(sum->out))
    events.push_back({{"type", name}, {"count", count}});
  s["events"] = events;
  auto samples = run_capture({tool, "print", "--events", "jdk.ExecutionSample", file}, 120000);
  if (samples && samples->exit_code == 0) {
    json hot = json::array();
    for (const auto& [m, n] : render::hottest_methods(samples->out, 10))
      hot.push_back({{"method", m}, {"samples", n}});
    s["hottest"] = hot;
  }
  return s;
}

}  // namespace

CommandSpec jvm_jfr_command() {
  CommandSpec c;
  c.name = "jvm jfr";
  c.summary = "a Flight Recorder recording of a JVM, fetched into a local .jfr file";
  c.synopsis =
      "jvm jfr TARGET -p PID [--duration 60s] [--settings default|profile] [-o rec.jfr] "
      "[--attach-timeout 10s]";
  c.options = [](po::options_description& o) {
    o.add_options()("pid,p", po::value<long>()->required(), "the JVM (see `sonde jvm list`)")(
        "duration", po::value<std::string>()->default_value("60s"),
        "how long to record; Ctrl-C stops early and still fetches the recording")(
        "settings", po::value<std::string>()->default_value("profile"),
        "JFR settings: default (low overhead) or profile (more detail, e.g. method samples "
        "every 10 ms)")("output,o", po::value<std::string>(),
                        "write the recording here (default sonde-PID.jfr)")(
        "attach-timeout", po::value<std::string>()->default_value("10s"),
        "how long to wait for the JVM to answer the attach request");
  };
  c.run = [](CommandContext& ctx) -> int {
    auto pid = jvm_pid(ctx);
    if (!pid) return ctx.fail(pid.error());
    auto timeout = attach_timeout(ctx);
    if (!timeout) return ctx.fail(timeout.error());
    auto dur = parse_duration_ms(ctx.vm["duration"].as<std::string>());
    if (!dur)
      return ctx.fail(Error{errc::kBadArgs, "--duration is not a duration", "e.g. --duration 60s"});
    jvm::JfrArgs args{static_cast<int>(*pid), *dur, ctx.vm["settings"].as<std::string>(), *timeout};
    if (auto st = jvm::validate(args); !st) return ctx.fail(st.error());
    std::string out_path = ctx.vm.count("output") ? ctx.vm["output"].as<std::string>()
                                                  : fmt::format("sonde-{}.jfr", *pid);
    // Opened before anything starts on the target: a bad -o fails first.
    std::string part = out_path + ".part";
    FILE* f = std::fopen(part.c_str(), "wb");
    if (!f) return ctx.fail(errno_error("open " + part, errno, "check the -o path"));
    auto fail_file = [&](const Error& e) {
      if (f) std::fclose(f);
      f = nullptr;
      std::remove(part.c_str());
      return ctx.fail(e);
    };

    auto s = ctx.connect();
    if (!s) return fail_file(s.error());
    auto id = (*s)->send_request("jvm.jfr", jvm::to_json(args));
    if (!id) return fail_file(id.error());
    uint64_t written = 0;
    Error write_error;
    bool stopped_early = false;
    StatusLine status_line;
    const bool tty = status_line.tty();
    auto status = [&](const std::string& line, bool final_line) {
      status_line.show(line, final_line);
    };
    auto on_event = [&](const json& ev) {
      if (!ev.is_object()) return;
      std::string phase = ev.value("phase", "");
      if (phase == "recording") {
        long el = ev.value("elapsed_ms", 0L), d = ev.value("duration_ms", 0L);
        if (tty || (el / 1000) % 10 == 0)
          status(fmt::format("sonde: recording JVM {}: {}s of {}s (Ctrl-C stops early and "
                             "fetches it)",
                             *pid, el / 1000, d / 1000),
                 false);
      } else if (phase == "dumping") {
        stopped_early = ev.value("stopped_early", false);
        status(fmt::format("sonde: {}; dumping the recording",
                           stopped_early ? "stopped early" : "recording done"),
               false);
      } else if (phase == "data") {
        auto it = ev.find("data");
        if (it == ev.end() || !it->is_binary() || !write_error.message.empty()) return;
        uint64_t off = ev.value("offset", uint64_t{0});
        const auto& bin = it->get_binary();
        if (off != written) {
          write_error =
              Error{errc::kProtocol,
                    fmt::format("recording chunk at offset {}, expected {}", off, written),
                    {}};
          return;
        }
        if (std::fwrite(bin.data(), 1, bin.size(), f) != bin.size()) {
          write_error = errno_error("write " + part, errno, "is the disk full?");
          return;
        }
        written += bin.size();
        if (tty) status(fmt::format("sonde: fetching: {}", human_bytes(written)), false);
      }
    };
    // After a Ctrl-C the agent still dumps and streams the recording: a
    // long grace, renewed by every chunk.
    auto r = (*s)->wait(*id, on_event, -1, 120000);
    status_line.end();
    if (!r) return fail_file(jvm_hint(r.error(), ctx));
    if (!write_error.message.empty()) return fail_file(write_error);
    bool ok = std::fflush(f) == 0;
    ok = std::fclose(f) == 0 && ok;
    f = nullptr;
    if (!ok) return fail_file(Error{errc::kIo, "writing " + part + " failed", {}});
    uint64_t expected = r->value("bytes", uint64_t{0});
    if (expected != written)
      return fail_file(Error{
          errc::kIo, fmt::format("the recording is {} bytes but {} arrived", expected, written),
          "the link may have dropped; run it again"});
    if (std::rename(part.c_str(), out_path.c_str()) != 0)
      return fail_file(errno_error("rename " + part + " to " + out_path));
    if (!ctx.vm.count("output")) ctx.written.push_back(out_path);
    json summary = summarize(out_path);
    (*r)["file"] = out_path;
    (*r)["summary"] = summary;
    std::fprintf(stderr, "sonde: wrote %s (%s)\n", out_path.c_str(), human_bytes(written).c_str());
    if (ctx.g.json) {
      (*r)["host"] = (*s)->host();
      ctx.print_json(*r);
      return exit_code::kOk;
    }
    std::string text = fmt::format(
        "JVM {}: {:.1f} s recording ({} settings{}), {} in {}\n", *pid,
        static_cast<double>(r->value("recorded_ms", 0L)) / 1000, args.settings,
        r->value("stopped_early", false) ? ", stopped early" : "", human_bytes(written), out_path);
    if (summary.contains("events")) {
      text += "\nevents (top 10 of " + std::to_string(summary["events"].size()) + " types)\n";
      size_t n = 0;
      bool samples_shown = false;
      const json* samples = nullptr;
      for (const auto& e : summary["events"]) {
        bool is_samples = e.value("type", "") == "jdk.ExecutionSample";
        if (is_samples) samples = &e;
        if (n++ >= 10) continue;
        samples_shown |= is_samples;
        text += fmt::format("  {:>9}  {}\n", e.value("count", 0LL),
                            render::terminal_safe(e.value("type", "")));
      }
      // The method samples matter most for a profile: always shown.
      if (samples && !samples_shown)
        text += fmt::format("  {:>9}  {}\n", "...", "") +
                fmt::format("  {:>9}  jdk.ExecutionSample\n", samples->value("count", 0LL));
    }
    if (summary.contains("hottest") && !summary["hottest"].empty()) {
      text += "\nhottest methods (top frames of execution samples)\n";
      for (const auto& h : summary["hottest"])
        text += fmt::format("  {:>7}  {}\n", h.value("samples", 0LL),
                            render::terminal_safe(h.value("method", "")));
    }
    if (summary.contains("note")) text += "note: " + summary["note"].get<std::string>() + "\n";
    text += fmt::format("open it in JDK Mission Control, or: jfr print {}\n", out_path);
    std::fputs(text.c_str(), stdout);
    return exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
