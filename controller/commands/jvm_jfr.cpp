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
#include "sonde/jvm/jfr_contract.h"
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
render::JfrSummary summarize(const std::string& file) {
  render::JfrSummary s;
  std::string tool = find_jfr_tool();
  if (tool.empty()) {
    s.note =
        "no local `jfr` tool (openjdk-17-jdk-headless has it): open the file in JDK "
        "Mission Control, or run `jfr summary` where a JDK is installed";
    return s;
  }
  s.tool = tool;
  auto sum = run_capture({tool, "summary", file}, 60000);
  if (!sum || sum->exit_code != 0) {
    s.note = "`jfr summary` could not read the file";
    return s;
  }
  s.events = render::parse_jfr_summary(sum->out);
  auto samples = run_capture({tool, "print", "--events", "jdk.ExecutionSample", file}, 120000);
  if (samples && samples->exit_code == 0) s.hottest = render::hottest_methods(samples->out, 10);
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
    StatusLine status_line(ctx.err);
    const bool tty = status_line.tty();
    auto status = [&](const std::string& line, bool final_line) {
      status_line.show(line, final_line);
    };
    auto on_event = [&](const json& data) -> Status {
      auto ev = jvm::jfr_event_from_json(data);
      if (!ev) return ev.error();
      if (!*ev) return ok_status();
      if (const auto* rec = std::get_if<jvm::JfrRecording>(&**ev)) {
        long el = rec->elapsed_ms, d = rec->duration_ms;
        if (tty || (el / 1000) % 10 == 0)
          status(fmt::format("sonde: recording JVM {}: {}s of {}s (Ctrl-C stops early and "
                             "fetches it)",
                             *pid, el / 1000, d / 1000),
                 false);
      } else if (const auto* dump = std::get_if<jvm::JfrDumping>(&**ev)) {
        status(fmt::format("sonde: {}; dumping the recording",
                           dump->stopped_early ? "stopped early" : "recording done"),
               false);
      } else if (const auto* chunk = std::get_if<jvm::JfrChunk>(&**ev)) {
        if (!write_error.message.empty()) return ok_status();
        if (chunk->offset != written) {
          write_error = Error{
              errc::kProtocol,
              fmt::format("recording chunk at offset {}, expected {}", chunk->offset, written),
              {}};
          return ok_status();
        }
        if (std::fwrite(chunk->data.data(), 1, chunk->data.size(), f) != chunk->data.size()) {
          write_error = errno_error("write " + part, errno, "is the disk full?");
          return ok_status();
        }
        written += chunk->data.size();
        if (tty) status(fmt::format("sonde: fetching: {}", human_bytes(written)), false);
      }
      return ok_status();
    };
    // After a Ctrl-C the agent still dumps and streams the recording: a
    // long grace, renewed by every chunk.
    auto r = (*s)->wait(*id, on_event, -1, 120000);
    status_line.end();
    if (!r) return fail_file(jvm_hint(r.error(), ctx));
    if (!write_error.message.empty()) return fail_file(write_error);
    auto rec = jvm::jfr_result_from_json(*r);
    if (!rec) return fail_file(rec.error());
    bool ok = std::fflush(f) == 0;
    ok = std::fclose(f) == 0 && ok;
    f = nullptr;
    if (!ok) return fail_file(Error{errc::kIo, "writing " + part + " failed", {}});
    if (rec->bytes != written)
      return fail_file(Error{
          errc::kIo, fmt::format("the recording is {} bytes but {} arrived", rec->bytes, written),
          "the link may have dropped; run it again"});
    if (std::rename(part.c_str(), out_path.c_str()) != 0)
      return fail_file(errno_error("rename " + part + " to " + out_path));
    if (!ctx.vm.count("output")) ctx.written.push_back(out_path);
    render::JfrSummary summary = summarize(out_path);
    std::fprintf(ctx.err, "sonde: wrote %s (%s)\n", out_path.c_str(), human_bytes(written).c_str());
    if (ctx.g.json) {
      json out = jvm::to_json(*rec);
      out["file"] = out_path;
      out["summary"] = render::to_json(summary);
      out["host"] = (*s)->host();
      ctx.print_json(out);
      return exit_code::kOk;
    }
    std::fputs(render::render_jfr(*rec, summary, out_path).c_str(), ctx.out);
    return exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
