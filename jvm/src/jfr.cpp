#include "sonde/jvm/jfr.h"

#include <fcntl.h>
#include <unistd.h>

#include <random>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/common/undo.h"
#include "sonde/jvm/attach.h"

namespace sonde::jvm {
namespace {

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  return std::string(s);
}

}  // namespace

std::string jfr_start_line(const std::string& name, const std::string& settings,
                           long safety_duration_s) {
  // The duration is a safety net only: sonde stops the recording itself. No
  // filename: sonde's own stop names one, while a stop without one (the
  // watchdog's, after the agent died) discards the data at once instead of
  // writing a file first, and a recording the safety net ends leaves none.
  return fmt::format("JFR.start name={} settings={} duration={}s", name, settings,
                     safety_duration_s);
}

std::string jfr_stop_line(const std::string& name, const std::string& path) {
  return fmt::format("JFR.stop name={} filename={}", name, path);
}

std::optional<std::string> jfr_start_failure(std::string_view out) {
  if (contains(out, "Started recording")) return std::nullopt;
  std::string t = trimmed(out);
  return t.empty() ? "JFR.start gave no answer" : t;
}

std::optional<std::string> jfr_stop_failure(std::string_view out) {
  if (contains(out, "Stopped recording") && !contains(out, "Could not")) return std::nullopt;
  std::string t = trimmed(out);
  return t.empty() ? "JFR.stop gave no answer" : t;
}

Result<JfrResult> record_jfr(const JfrOptions& o, CancelToken& cancel, const JfrCallbacks& cb) {
  if (o.settings != "default" && o.settings != "profile")
    return Error{errc::kBadArgs, "--settings must be default or profile", {}};
  if (o.duration_ms < 1000 || o.duration_ms > 24L * 3600 * 1000)
    return Error{errc::kBadArgs, "--duration must be 1s..24h", {}};
  std::mt19937_64 rng(std::random_device{}());
  std::string tag = fmt::format("{:08x}", static_cast<uint32_t>(rng()));
  std::string name = fmt::format("sonde-{}", tag);
  std::string jvm_path = fmt::format("/tmp/sonde-{}-{}.jfr", o.pid, tag);  // as the JVM sees it
  std::string our_path = jvm_tmp_dir(o.pid) + jvm_path.substr(4);          // as we see it

  AttachOptions ao;
  ao.connect_timeout_ms = o.attach_timeout_ms;
  long safety_s = o.duration_ms / 1000 + 300;
  // Registered before the recording starts: if the agent dies, the watchdog
  // stops it and removes its file.
  auto undo_rec = undo::register_change(undo::kJfr, o.pid, {{"name", name}, {"path", our_path}});
  if (!undo_rec) return undo_rec.error();
  auto started = jcmd(o.pid, jfr_start_line(name, o.settings, safety_s), ao, &cancel);
  if (!started) {
    undo_rec->leave_to_watchdog();  // a reply lost is not a recording not started
    return started.error();
  }
  if (auto why = jfr_start_failure(*started))
    return Error{errc::kIo, fmt::format("JVM {} did not start a recording: {}", o.pid, *why),
                 "is Flight Recorder available in this JVM (JDK 11+, not disabled)?"};

  long t0 = monotonic_ms();
  bool early = false;
  for (;;) {
    long el = monotonic_ms() - t0;
    if (cb.progress) cb.progress(JfrRecording{el, o.duration_ms});
    if (el >= o.duration_ms) break;
    if (!cancel.sleep_for(std::min(1000L, o.duration_ms - el))) {
      early = true;
      break;
    }
  }
  long recorded = monotonic_ms() - t0;
  if (cb.progress) cb.progress(JfrDumping{early});
  // From here on the request may already be cancelled (Ctrl-C stops early):
  // the remaining steps are bounded by their own timeouts and must run.
  auto stopped = jcmd(o.pid, jfr_stop_line(name, jvm_path), ao, nullptr);
  if (!stopped) {
    undo_rec->leave_to_watchdog();  // it may still be recording
    ::unlink(our_path.c_str());
    return stopped.error();
  }
  if (auto why = jfr_stop_failure(*stopped)) {
    ::unlink(our_path.c_str());
    return Error{errc::kIo,
                 fmt::format("JVM {} could not stop and dump the recording: {}", o.pid, *why),
                 {}};
  }
  // In the JVM's /tmp: O_NONBLOCK so a FIFO planted there cannot hang us.
  ScopedFd fd(::open(our_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) {
    int e = errno;
    ::unlink(our_path.c_str());
    return Error::sys(code_for_errno(e), e,
                      fmt::format("cannot open the recording {}: {}", our_path, std::strerror(e)),
                      "the JVM wrote it in its /tmp; run the agent as the JVM's user or with "
                      "--sudo");
  }
  // Removed now: the open descriptor keeps the data, and no path stays behind
  // whatever happens while streaming.
  ::unlink(our_path.c_str());
  if (cb.progress) cb.progress(JfrStreaming{});
  std::string buf(o.chunk_bytes, '\0');
  uint64_t total = 0;
  for (;;) {
    auto got = read_some(fd.get(), buf.data(), buf.size());
    if (!got) return got.error();
    if (*got == 0) break;
    if (cb.chunk) cb.chunk(total, std::string_view(buf.data(), *got));
    total += *got;
  }
  return JfrResult{o.pid, name, o.settings, o.duration_ms, recorded, early, total, jvm_path};
}

}  // namespace sonde::jvm
