// `jvm.*`: JVMs on the target (sonde::jvm). jvm.list reads /proc and
// hsperfdata only; jvm.attach runs one diagnostic command through the HotSpot
// attach socket; jvm.jfr records and streams a Flight Recorder file back in
// `event` chunks; jvm.jmx starts the management agent for one forwarded port.
#include <signal.h>

#include <cerrno>
#include <span>

#include "../handler.h"
#include "sonde/common/undo.h"
#include "sonde/jvm/attach.h"
#include "sonde/jvm/attach_contract.h"
#include "sonde/jvm/discover.h"
#include "sonde/jvm/jfr.h"
#include "sonde/jvm/jmx.h"
#include "sonde/jvm/jvm_contract.h"

namespace sonde::agent {
namespace {

bool process_alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

// The diagnostic commands jvm.attach may run: read-only ones.
Result<std::string> attach_line(const std::string& what, bool all) {
  if (what == "threads") return std::string(all ? "Thread.print -l -e" : "Thread.print -l");
  if (what == "flags") return std::string(all ? "VM.flags -all" : "VM.flags");
  if (what == "props") return std::string("VM.system_properties");
  if (what == "version") return std::string("VM.version");
  return Error{errc::kInternal, "jvm.attach: `" + what + "` passed validate() unmapped", {}};
}

}  // namespace

void register_jvm(Registry& reg) {
  reg["jvm.list"] = [](RequestContext& ctx) -> Result<json> {
    auto a = jvm::jvm_list_args_from_json(ctx.args);
    if (!a) return a.error();
    if (auto st = jvm::validate(*a); !st) return st.error();
    jvm::ListOptions o;
    o.only_pid = a->pid;
    auto r = jvm::list_jvms(o);
    if (!r) return r.error();
    return jvm::to_json(*r);
  };

  reg["jvm.attach"] = [](RequestContext& ctx) -> Result<json> {
    auto a = jvm::jvm_attach_args_from_json(ctx.args);
    if (!a) return a.error();
    if (auto st = jvm::validate(*a); !st) return st.error();
    auto line = attach_line(a->what, a->all);
    if (!line) return line.error();
    jvm::AttachOptions o;
    o.connect_timeout_ms = a->timeout_ms;
    uint64_t more = 0;
    auto out = jvm::jcmd(a->pid, *line, o, &ctx.cancel, &more);
    if (!out) return out.error();
    // A capped reply ends at a whole line; the cut-off part counts as more.
    if (more > 0) {
      size_t nl = out->rfind('\n');
      if (nl != std::string::npos) {
        more += out->size() - (nl + 1);
        out->resize(nl + 1);
      }
    }
    return jvm::to_json(jvm::JvmAttachResult{a->pid, a->what, *line, std::move(*out), more});
  };

  reg["jvm.jfr"] = [](RequestContext& ctx) -> Result<json> {
    auto a = jvm::jfr_args_from_json(ctx.args);
    if (!a) return a.error();
    if (auto st = jvm::validate(*a); !st) return st.error();
    jvm::JfrOptions o;
    o.pid = a->pid;
    o.duration_ms = a->duration_ms;
    o.settings = a->settings;
    o.attach_timeout_ms = a->timeout_ms;
    jvm::JfrCallbacks cb;
    cb.progress = [&](const jvm::JfrEvent& ev) { ctx.emit(jvm::to_json(ev)); };
    cb.chunk = [&](uint64_t offset, std::string_view bytes) {
      std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ctx.emit(jvm::to_json(jvm::JfrEvent{jvm::JfrChunk{offset, data}}));
    };
    // A cancel (Ctrl-C) ends the recording early; the file is still dumped
    // and streamed and the op returns its result.
    auto r = jvm::record_jfr(o, ctx.cancel, cb);
    if (!r) return r.error();
    return jvm::to_json(*r);
  };

  // Starts the management agent with a fresh login and holds it for the
  // session: the op runs until cancelled (Ctrl-C, the controller done, or
  // the agent's stdin closed), the JVM exits, or the controller's `stop`;
  // then jvm::stop_jmx stops it and removes the login files. With "keep" it
  // returns at once and leaves both in place.
  reg["jvm.jmx"] = [](RequestContext& ctx) -> Result<json> {
    auto a = jvm::jmx_args_from_json(ctx.args);
    if (!a) return a.error();
    if (auto st = jvm::validate(*a); !st) return st.error();
    const pid_t pid = a->pid;
    if (a->stop) {
      // An older controller's way to end a kept agent: bounded by the
      // attach timeouts alone, whatever the cancel token says.
      auto out = jvm::jcmd(pid, "ManagementAgent.stop", {}, nullptr);
      if (!out) return out.error();
      jvm::JmxEnded ended;
      ended.pid = pid;
      ended.stopped = true;
      ended.output = std::move(*out);
      return jvm::to_json(ended);
    }
    jvm::JmxStartOptions o;
    o.pid = a->pid;
    o.port = a->port;
    o.bind = a->bind;
    o.attach_timeout_ms = a->timeout_ms;
    // Registered before the start: if the agent dies at any point from
    // here, the watchdog stops the JVM's management agent (stopping one that
    // never came up is harmless).
    auto reg = undo::register_change(undo::kJmx, pid, {{"port", a->port}});
    if (!reg) return reg.error();
    jvm::JmxFiles files;
    auto started = jvm::start_jmx(o, &ctx.cancel, &files);
    if (!started) {
      // The start line may have reached the JVM with its answer lost (a
      // cancel, a timeout): the watchdog stops whatever came up.
      reg->leave_to_watchdog();
      return started.error();
    }
    // Someone else's agent is not ours to stop.
    auto* ours = std::get_if<jvm::JmxStarted>(&*started);
    if (!ours) {
      reg->forget();
      return jvm::to_json(*started);
    }
    if (a->keep) {
      reg->forget();  // kept on purpose: it outlives the session
      ours->kept = true;
      ours->files = files.jvm_dir;
      return jvm::to_json(*ours);
    }
    // From now on the record also names the login files, so the watchdog
    // removes them too.
    auto with_files =
        undo::register_change(undo::kJmx, pid, {{"port", a->port}, {"dir", files.dir}});
    if (with_files) *reg = std::move(*with_files);
    ctx.emit(jvm::started_event_json(*ours));
    while (process_alive(pid) && ctx.cancel.sleep_for(200)) {
    }
    jvm::JmxEnded ended;
    ended.pid = pid;
    ended.jvm_gone = !process_alive(pid);
    auto st = jvm::stop_jmx(pid, files.dir);
    if (!st.ok() && !ended.jvm_gone)
      reg->leave_to_watchdog();  // it tries again when the agent exits
    ended.stopped = st.ok();
    ended.files_removed = true;
    if (!st.ok()) ended.stop_error = st.error().message;
    return jvm::to_json(ended);
  };
}

}  // namespace sonde::agent
