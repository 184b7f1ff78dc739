// Summaries and key figures of op results for the case journal
// (summaries.h). Every accessor tolerates missing or mistyped fields: a
// result from another agent version must still give a line.
#include "summaries.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace sonde::controller::casefile {
namespace {

std::string str(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

double num(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

const json& arr(const json& j, const char* k) {
  static const json empty = json::array();
  auto it = j.find(k);
  return it != j.end() && it->is_array() ? *it : empty;
}

std::string shorten(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n - 1) + "…";
  return s;
}

std::string ms_text(double ns) {
  double ms = ns / 1e6;
  return ms < 10 ? fmt::format("{:.2f} ms", ms) : fmt::format("{:.0f} ms", ms);
}

Summary ps(const json& r) {
  Summary s;
  const json& procs = arr(r, "processes");
  std::vector<const json*> v;
  for (const auto& p : procs)
    if (p.is_object()) v.push_back(&p);
  std::sort(v.begin(), v.end(),
            [](const json* a, const json* b) { return num(*a, "cpu_pct") > num(*b, "cpu_pct"); });
  long total = r.contains("total") ? static_cast<long>(num(r, "total")) : long(v.size());
  std::string top;
  for (size_t i = 0; i < v.size() && i < 3; ++i) {
    const json& p = *v[i];
    std::string item = fmt::format("{} ({}) {:.1f}%", str(p, "comm"),
                                   static_cast<long>(num(p, "pid")), num(p, "cpu_pct"));
    top += (top.empty() ? "" : ", ") + item;
    s.figures.push_back(fmt::format("{} pid {}: {:.1f}% CPU, {} threads, {} MiB RSS",
                                    str(p, "comm"), static_cast<long>(num(p, "pid")),
                                    num(p, "cpu_pct"), static_cast<long>(num(p, "threads")),
                                    static_cast<long>(num(p, "rss_kb") / 1024)));
  }
  s.line = fmt::format("{} processes", total);
  if (v.size() != static_cast<size_t>(total)) s.line += fmt::format(" ({} shown)", v.size());
  if (!top.empty()) s.line += "; top by CPU: " + top;
  return s;
}

Summary inspect(const json& r) {
  Summary s;
  std::string cmd;
  for (const auto& a : arr(r, "cmdline"))
    if (a.is_string()) cmd += (cmd.empty() ? "" : " ") + a.get<std::string>();
  if (cmd.empty()) cmd = str(r, "comm");
  size_t threads = arr(r, "threads").size();
  size_t fds = arr(r, "fds").size();
  std::string state = str(r, "state_name").empty() ? str(r, "state") : str(r, "state_name");
  s.line = fmt::format("pid {} {}: {}, {} threads, {} fds", static_cast<long>(num(r, "pid")),
                       shorten(cmd, 80), state, threads, fds);
  if (r.contains("user")) s.line += ", user " + str(r, "user");
  std::map<std::string, int> kinds;
  for (const auto& f : arr(r, "fds"))
    if (f.is_object()) ++kinds[str(f, "kind")];
  if (!kinds.empty()) {
    std::string k;
    for (const auto& [name, n] : kinds) k += fmt::format("{}{} {}", k.empty() ? "" : ", ", n, name);
    s.figures.push_back(fmt::format("pid {} fds: {}", static_cast<long>(num(r, "pid")), k));
  }
  if (r.contains("env"))
    s.figures.push_back(fmt::format("{} environment variables", arr(r, "env").size()));
  return s;
}

Summary trace(const json& r) {
  Summary s;
  const json& sc = arr(r, "syscalls");
  const json& total = r.contains("total") && r["total"].is_object() ? r["total"] : json::object();
  std::string top;
  for (size_t i = 0; i < sc.size() && i < 3; ++i) {
    const json& c = sc[i];
    if (!c.is_object()) continue;
    long errors = static_cast<long>(num(c, "errors"));
    top +=
        fmt::format("{}{} {}{}", top.empty() ? "" : ", ", str(c, "name"),
                    ms_text(num(c, "time_ns")), errors ? fmt::format(" ({} errors)", errors) : "");
  }
  for (size_t i = 0; i < sc.size() && i < 5; ++i) {
    const json& c = sc[i];
    if (!c.is_object()) continue;
    long errors = static_cast<long>(num(c, "errors"));
    s.figures.push_back(fmt::format("{}: {} calls, {} errors, {}", str(c, "name"),
                                    static_cast<long>(num(c, "calls")), errors,
                                    ms_text(num(c, "time_ns"))));
  }
  if (sc.empty() && r.contains("events")) {
    s.line = fmt::format("{} syscall events", arr(r, "events").size());
  } else {
    s.line = fmt::format("{} syscalls, {} errors in {} ms", static_cast<long>(num(total, "calls")),
                         static_cast<long>(num(total, "errors")),
                         static_cast<long>(num(r, "duration_ms")));
    if (!top.empty()) s.line += "; top by time: " + top;
  }
  if (r.contains("exit_code"))
    s.line += fmt::format("; command exited {}", static_cast<long>(num(r, "exit_code")));
  if (r.contains("killed_by")) s.line += "; command killed by " + str(r, "killed_by");
  return s;
}

// A frame's name in a profile's frame table or a stack's frame list.
std::string frame_name(const json& f) {
  if (!f.is_object()) return "?";
  std::string fn = str(f, "function");
  if (!fn.empty()) return fn;
  std::string mod = str(f, "module");
  return mod.empty() ? "?" : mod.substr(mod.rfind('/') + 1) + "+?";
}

Summary profile(const json& r) {
  Summary s;
  const json& frames = arr(r, "frames");
  std::map<uint32_t, uint64_t> self;  // leaf frame → samples
  uint64_t samples = 0;
  for (const auto& st : arr(r, "stacks")) {
    if (!st.is_object()) continue;
    uint64_t n = static_cast<uint64_t>(num(st, "count"));
    samples += n;
    const json& fr = arr(st, "frames");
    if (!fr.empty() && fr[0].is_number_unsigned()) self[fr[0].get<uint32_t>()] += n;
  }
  std::map<std::string, uint64_t> by_name;
  for (const auto& [idx, n] : self)
    by_name[idx < frames.size() ? frame_name(frames[idx]) : "?"] += n;
  std::vector<std::pair<std::string, uint64_t>> hot(by_name.begin(), by_name.end());
  std::sort(hot.begin(), hot.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  uint64_t total = r.contains("samples") ? static_cast<uint64_t>(num(r, "samples")) : samples;
  if (total == 0) total = samples;
  std::string top;
  for (size_t i = 0; i < hot.size() && i < 3; ++i) {
    double pct =
        total ? 100.0 * static_cast<double>(hot[i].second) / static_cast<double>(total) : 0;
    top += fmt::format("{}{} {:.0f}%", top.empty() ? "" : ", ", hot[i].first, pct);
    s.figures.push_back(fmt::format("hot: {} {:.0f}%", hot[i].first, pct));
  }
  s.line =
      fmt::format("{} samples of pid {} ({}, {}, {} ms)", total, static_cast<long>(num(r, "pid")),
                  str(r, "mode"), str(r, "sampler"), static_cast<long>(num(r, "duration_ms")));
  if (!top.empty()) s.line += "; hottest: " + top;
  if (num(r, "lost") > 0) s.line += fmt::format("; {} lost", static_cast<long>(num(r, "lost")));
  return s;
}

Summary stack(const json& r) {
  Summary s;
  const json& threads = arr(r, "threads");
  std::map<std::string, int> states;
  std::map<std::string, int> tops;
  for (const auto& t : threads) {
    if (!t.is_object()) continue;
    ++states[str(t, "state")];
    const json& fr = arr(t, "frames");
    // The first frame that has a function name: the innermost is often a
    // libc syscall wrapper with no symbols.
    for (const auto& f : fr)
      if (!str(f, "function").empty()) {
        ++tops[str(f, "function")];
        break;
      }
  }
  std::string st;
  for (const auto& [k, n] : states) st += fmt::format("{}{} {}", st.empty() ? "" : ", ", n, k);
  std::vector<std::pair<std::string, int>> v(tops.begin(), tops.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string top;
  for (size_t i = 0; i < v.size() && i < 3; ++i) {
    top += fmt::format("{}{} ×{}", top.empty() ? "" : ", ", v[i].first, v[i].second);
    s.figures.push_back(fmt::format("{} threads in {}", v[i].second, v[i].first));
  }
  s.line = fmt::format("pid {} {}: {} threads ({})", static_cast<long>(num(r, "pid")),
                       str(r, "comm"), threads.size(), st);
  if (!top.empty()) s.line += "; top frames: " + top;
  return s;
}

Summary jvm(const std::string& op, const json& r) {
  Summary s;
  if (op == "jvm.list") {
    const json& jvms = r.contains("jvms") ? arr(r, "jvms") : arr(r, "processes");
    s.line = fmt::format("{} JVMs", jvms.size());
    for (size_t i = 0; i < jvms.size() && i < 3; ++i)
      if (jvms[i].is_object())
        s.figures.push_back(
            fmt::format("jvm pid {} {}", static_cast<long>(num(jvms[i], "pid")),
                        shorten(str(jvms[i], "main_class").empty() ? str(jvms[i], "command")
                                                                   : str(jvms[i], "main_class"),
                                60)));
    return s;
  }
  if (op == "jvm.jfr") {
    s.line = fmt::format("JFR recording of pid {}", static_cast<long>(num(r, "pid")));
    if (r.contains("bytes"))
      s.line += fmt::format(", {} bytes", static_cast<long>(num(r, "bytes")));
    return s;
  }
  std::string text = str(r, "output");
  size_t lines = text.empty() ? 0 : std::count(text.begin(), text.end(), '\n') + 1;
  s.line = fmt::format("{} of pid {}: {} lines", op, static_cast<long>(num(r, "pid")), lines);
  return s;
}

}  // namespace

Summary summarize_op(const json& op) {
  std::string name = op.is_object() ? str(op, "op") : "?";
  std::string host = op.is_object() ? str(op, "host") : "";
  if (op.is_object() && op.contains("error") && op["error"].is_object()) {
    const json& e = op["error"];
    return {fmt::format("{}{}: {} ({})", name, host.empty() ? "" : " on " + host, str(e, "message"),
                        str(e, "code")),
            {}};
  }
  if (!op.is_object() || !op.contains("result")) return {name + ": no answer", {}};
  const json& r = op["result"];
  Summary s;
  try {
    if (!r.is_object()) {
      s.line = name + " done";
    } else if (name == "ps") {
      s = ps(r);
    } else if (name == "inspect") {
      s = inspect(r);
    } else if (name == "trace") {
      s = trace(r);
    } else if (name == "profile") {
      s = profile(r);
    } else if (name == "stack") {
      s = stack(r);
    } else if (name.rfind("jvm.", 0) == 0) {
      s = jvm(name, r);
    }
    // net.* results carry their own one-line verdict.
    if (r.is_object() && !str(r, "summary").empty()) {
      s.line = str(r, "summary");
      if (s.figures.empty())
        s.figures.push_back((host.empty() ? "" : host + ": ") + str(r, "summary"));
    }
  } catch (const std::exception&) {
    s = {};
  }
  if (s.line.empty()) s.line = fmt::format("{}{}: done", name, host.empty() ? "" : " on " + host);
  return s;
}

Summary summarize_command(const std::string& command, const std::vector<json>& ops, int exit) {
  Summary out;
  std::vector<std::string> lines;
  for (const auto& op : ops) {
    if (op.is_object() && str(op, "op") == "ping") continue;
    Summary s = summarize_op(op);
    // One line per side for multi-side checks: say which host said it.
    if (ops.size() > 1 && op.is_object() && !str(op, "host").empty() &&
        s.line.find(str(op, "host")) == std::string::npos)
      s.line = str(op, "host") + ": " + s.line;
    lines.push_back(s.line);
    for (auto& f : s.figures)
      if (out.figures.size() < 8) out.figures.push_back(std::move(f));
  }
  for (const auto& l : lines) out.line += (out.line.empty() ? "" : "; ") + l;
  if (out.line.empty())
    out.line = fmt::format("{}: exit {}{}", command, exit, exit == 0 ? "" : " (no agent answered)");
  out.line = shorten(out.line, 600);
  return out;
}

}  // namespace sonde::controller::casefile
