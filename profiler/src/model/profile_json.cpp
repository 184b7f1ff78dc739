// Profiles, stack dumps and frames as JSON. The reader is strict about types
// and indices because the JSON comes from an agent on another host: a bad
// field becomes a kProtocol error naming the field, never a crash.
#include <cstddef>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

#include "sonde/common/json_read.h"
#include "sonde/profiler/profile.h"

namespace sonde::profiler {

std::string module_basename(const Frame& f) {
  auto slash = f.module.rfind('/');
  return slash == std::string::npos ? f.module : f.module.substr(slash + 1);
}

std::string display_name(const Frame& f) {
  switch (f.kind) {
    case FrameKind::kSyscall:
      return "[syscall " + (f.function.empty() ? std::string("?") : f.function) + "]";
    case FrameKind::kTruncated:
      return "[truncated]";
    case FrameKind::kCode:
    case FrameKind::kUnknown:
      break;
  }
  if (!f.function.empty()) return f.function;
  if (f.kind == FrameKind::kCode && !f.module.empty())
    return fmt::format("{}+{:#x}", module_basename(f), f.rel);
  return fmt::format("[unknown {:#x}]", f.address);
}

namespace {

const char* kind_name(FrameKind k) {
  switch (k) {
    case FrameKind::kCode:
      return "code";
    case FrameKind::kUnknown:
      return "unknown";
    case FrameKind::kSyscall:
      return "syscall";
    case FrameKind::kTruncated:
      return "truncated";
  }
  return "code";
}

std::optional<FrameKind> kind_from(const std::string& s) {
  if (s == "code") return FrameKind::kCode;
  if (s == "unknown") return FrameKind::kUnknown;
  if (s == "syscall") return FrameKind::kSyscall;
  if (s == "truncated") return FrameKind::kTruncated;
  return std::nullopt;
}

Frame read_frame(JsonReader& r, const json& j, const JsonPath& w) {
  Frame f;
  if (!r.object(j, w)) return f;
  std::string kind = "code";
  r.string(j, "kind", w, kind);
  if (!r.failed()) {
    auto k = kind_from(kind);
    if (!k)
      r.fail(w / "kind", fmt::format("unknown frame kind `{}`", kind));
    else
      f.kind = *k;
  }
  r.integer(j, "address", w, f.address);
  r.string(j, "function", w, f.function);
  r.string(j, "module", w, f.module);
  r.integer(j, "rel", w, f.rel);
  r.integer(j, "sym_offset", w, f.sym_offset);
  r.string(j, "file", w, f.file);
  r.integer(j, "line", w, f.line);
  r.boolean(j, "inlined", w, f.inlined);
  return f;
}

std::vector<Frame> read_frames(JsonReader& r, const json& o, const JsonPath& w) {
  std::vector<Frame> out;
  const json* a = r.array(o, "frames", w);
  if (!a) return out;
  out.reserve(a->size());
  for (size_t k = 0; k < a->size() && !r.failed(); ++k)
    out.push_back(read_frame(r, (*a)[k], (w / "frames")[k]));
  return out;
}

json frames_json(const std::vector<Frame>& frames) {
  json a = json::array();
  for (const auto& f : frames) a.push_back(to_json(f));
  return a;
}

}  // namespace

json to_json(const Frame& f) {
  json j = {{"kind", kind_name(f.kind)}, {"address", f.address}};
  if (!f.function.empty()) j["function"] = f.function;
  if (!f.module.empty()) j["module"] = f.module;
  if (f.rel) j["rel"] = f.rel;
  if (f.sym_offset) j["sym_offset"] = f.sym_offset;
  if (!f.file.empty()) j["file"] = f.file;
  if (f.line) j["line"] = f.line;
  if (f.inlined) j["inlined"] = true;
  return j;
}

json to_json(const Profile& p) {
  json stacks = json::array();
  for (const auto& s : p.stacks)
    stacks.push_back({{"frames", s.frames}, {"count", s.count}, {"thread", s.thread}});
  json threads = json::array();
  for (const auto& t : p.threads) {
    threads.push_back({{"tid", t.tid}, {"name", t.name}});
    if (!t.host.empty()) threads.back()["host"] = t.host;
  }
  json j = {{"pid", p.pid},
            {"comm", p.comm},
            {"mode", p.mode},
            {"sampler", p.sampler},
            {"sampler_reason", p.sampler_reason},
            {"hz", p.hz},
            {"duration_ms", p.duration_ms},
            {"samples", p.samples},
            {"lost", p.lost},
            {"frames", frames_json(p.frames)},
            {"stacks", std::move(stacks)},
            {"threads", std::move(threads)},
            {"notes", p.notes}};
  if (p.exit_code) j["exit_code"] = *p.exit_code;
  if (!p.killed_by.empty()) j["killed_by"] = p.killed_by;
  return j;
}

json to_json(const StackDump& d) {
  json threads = json::array();
  for (const auto& t : d.threads) {
    // A NUL state would put a control character on the wire.
    json tj = {{"tid", t.tid},
               {"name", t.name},
               {"state", std::string(1, t.state ? t.state : '?')},
               {"frames", frames_json(t.frames)},
               {"truncated", t.truncated}};
    if (!t.syscall.empty()) tj["syscall"] = t.syscall;
    if (!t.error.empty()) tj["error"] = t.error;
    threads.push_back(std::move(tj));
  }
  return {{"pid", d.pid},
          {"comm", d.comm},
          {"threads", std::move(threads)},
          {"threads_more", d.threads_more},
          {"notes", d.notes},
          {"max_stop_us", d.max_stop_us},
          {"capture_us", d.capture_us},
          {"resolve_us", d.resolve_us}};
}

Result<Frame> frame_from_json(const json& j) {
  JsonReader r(errc::kProtocol, "malformed frame");
  Frame f = read_frame(r, j, {});
  if (r.failed()) return r.error();
  return f;
}

Result<Profile> profile_from_json(const json& j) {
  JsonReader r(errc::kProtocol, "malformed profile");
  Profile p;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, p.pid);
  r.string(j, "comm", {}, p.comm);
  r.string(j, "mode", {}, p.mode);
  r.string(j, "sampler", {}, p.sampler);
  r.string(j, "sampler_reason", {}, p.sampler_reason);
  r.integer(j, "hz", {}, p.hz);
  r.integer(j, "duration_ms", {}, p.duration_ms);
  r.integer(j, "samples", {}, p.samples);
  r.integer(j, "lost", {}, p.lost);
  p.frames = read_frames(r, j, {});
  r.strings(j, "notes", {}, p.notes);
  if (j.contains("exit_code")) {
    int code = 0;
    r.integer(j, "exit_code", {}, code);
    p.exit_code = code;
  }
  if (j.contains("killed_by")) r.string(j, "killed_by", {}, p.killed_by);

  if (const json* threads = r.array(j, "threads", {})) {
    p.threads.reserve(threads->size());
    for (size_t i = 0; i < threads->size() && !r.failed(); ++i) {
      const json& tj = (*threads)[i];
      JsonPath w = (JsonPath{} / "threads")[i];
      if (!r.object(tj, w)) break;
      ThreadInfo t;
      r.integer(tj, "tid", w, t.tid);
      r.string(tj, "name", w, t.name);
      r.string(tj, "host", w, t.host);
      p.threads.push_back(std::move(t));
    }
  }

  if (const json* stacks = r.array(j, "stacks", {})) {
    p.stacks.reserve(stacks->size());
    for (size_t i = 0; i < stacks->size() && !r.failed(); ++i) {
      const json& sj = (*stacks)[i];
      JsonPath w = (JsonPath{} / "stacks")[i];
      if (!r.object(sj, w)) break;
      StackCount s;
      r.integer(sj, "count", w, s.count);
      r.integer(sj, "thread", w, s.thread);
      // No thread table at all is a profile that did not split by thread:
      // index 0 is the only sensible value then.
      if (!r.failed() && s.thread >= p.threads.size() && !(p.threads.empty() && s.thread == 0))
        r.fail(w / "thread",
               fmt::format("index {} out of range ({} threads)", s.thread, p.threads.size()));
      if (const json* fa = r.array(sj, "frames", w)) {
        s.frames.reserve(fa->size());
        for (size_t k = 0; k < fa->size() && !r.failed(); ++k) {
          const json& idx = (*fa)[k];
          JsonPath fw = (w / "frames")[k];
          if (!idx.is_number_integer()) {
            r.fail(fw, fmt::format("expected a frame index, got {}", idx.type_name()));
            break;
          }
          // Read as signed too: -1 must be rejected, not wrapped.
          uint64_t n = p.frames.size();
          bool in_range =
              idx.is_number_unsigned()
                  ? idx.get<uint64_t>() < n
                  : idx.get<int64_t>() >= 0 && static_cast<uint64_t>(idx.get<int64_t>()) < n;
          if (!in_range) {
            r.fail(fw, fmt::format("index {} out of range ({} frames)", idx.dump(), n));
            break;
          }
          s.frames.push_back(static_cast<uint32_t>(idx.get<uint64_t>()));
        }
      }
      p.stacks.push_back(std::move(s));
    }
  }
  if (r.failed()) return r.error();
  return p;
}

Result<StackDump> stack_dump_from_json(const json& j) {
  JsonReader r(errc::kProtocol, "malformed stack dump");
  StackDump d;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, d.pid);
  r.string(j, "comm", {}, d.comm);
  r.strings(j, "notes", {}, d.notes);
  r.integer(j, "max_stop_us", {}, d.max_stop_us);
  r.integer(j, "capture_us", {}, d.capture_us);
  r.integer(j, "resolve_us", {}, d.resolve_us);
  r.integer(j, "threads_more", {}, d.threads_more);
  if (const json* threads = r.array(j, "threads", {})) {
    d.threads.reserve(threads->size());
    for (size_t i = 0; i < threads->size() && !r.failed(); ++i) {
      const json& tj = (*threads)[i];
      JsonPath w = (JsonPath{} / "threads")[i];
      if (!r.object(tj, w)) break;
      ThreadStack t;
      r.integer(tj, "tid", w, t.tid);
      r.string(tj, "name", w, t.name);
      std::string state = "?";
      r.string(tj, "state", w, state);
      if (!r.failed() && state.size() != 1)
        r.fail(w / "state", fmt::format("expected one letter, got `{}`", state));
      else if (!r.failed())
        t.state = state[0];
      r.string(tj, "syscall", w, t.syscall);
      r.boolean(tj, "truncated", w, t.truncated);
      r.string(tj, "error", w, t.error);
      t.frames = read_frames(r, tj, w);
      d.threads.push_back(std::move(t));
    }
  }
  if (r.failed()) return r.error();
  return d;
}

}  // namespace sonde::profiler
