// Summaries and key figures of op results for the case journal
// (summaries.h). The ops with a typed result read it strictly; the others
// read their JSON through the lenient accessors: a result from another agent
// version must still give a line.
#include "summaries.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "report_model.h"
#include "sonde/net/netfault.h"
#include "sonde/proc/inspect_contract.h"
#include "sonde/proc/ps_contract.h"
#include "sonde/ptrace/trace_contract.h"
#include "sonde/render/json_access.h"

namespace sonde::controller::casefile {
namespace {

using render::json_array;
using render::json_number;
using render::json_str;

long num(const json& j, const char* k) {
  return static_cast<long>(json_number(j, k));
}

std::string shorten(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n - 1) + "…";
  return s;
}

std::string ms_text(double ns) {
  double ms = ns / 1e6;
  return ms < 10 ? fmt::format("{:.2f} ms", ms) : fmt::format("{:.0f} ms", ms);
}

Summary ps(const proc::PsResult& r) {
  Summary s;
  std::vector<const proc::PsRow*> v;
  for (const auto& p : r.processes) v.push_back(&p);
  std::sort(v.begin(), v.end(),
            [](const proc::PsRow* a, const proc::PsRow* b) { return a->cpu_pct > b->cpu_pct; });
  std::string top;
  for (size_t i = 0; i < v.size() && i < 3; ++i) {
    const proc::PsRow& p = *v[i];
    top += fmt::format("{}{} ({}) {:.1f}%", top.empty() ? "" : ", ", p.comm, p.pid, p.cpu_pct);
    s.figures.push_back(fmt::format("{} pid {}: {:.1f}% CPU, {} threads, {} MiB RSS", p.comm, p.pid,
                                    p.cpu_pct, p.threads, p.rss_kb / 1024));
  }
  s.line = fmt::format("{} processes", r.total);
  if (v.size() != r.total) s.line += fmt::format(" ({} shown)", v.size());
  if (!top.empty()) s.line += "; top by CPU: " + top;
  return s;
}

Summary inspect(const proc::InspectResult& r) {
  Summary s;
  std::string cmd;
  for (const auto& a : r.cmdline) cmd += (cmd.empty() ? "" : " ") + a;
  if (cmd.empty()) cmd = r.comm;
  std::string state = r.state_name.value_or(r.state ? std::string(1, *r.state) : "");
  s.line = fmt::format("pid {} {}: {}, {} threads, {} fds", r.pid, shorten(cmd, 80), state,
                       r.threads.size(), r.fds.size());
  if (r.user) s.line += ", user " + *r.user;
  std::map<std::string, int> kinds;
  for (const auto& f : r.fds) ++kinds[f.kind];
  if (!kinds.empty()) {
    std::string k;
    for (const auto& [name, n] : kinds) k += fmt::format("{}{} {}", k.empty() ? "" : ", ", n, name);
    s.figures.push_back(fmt::format("pid {} fds: {}", r.pid, k));
  }
  if (r.env) s.figures.push_back(fmt::format("{} environment variables", r.env->size()));
  return s;
}

// sonde inject's syscall faults: what was injected, where, and when.
Summary injected(const ptrace::TraceResult& r) {
  Summary s;
  auto clock = [](int64_t ns) {
    return report_model::format_utc(ns / 1000000, "%H:%M:%S") +
           fmt::format(".{:03}", ns / 1000000 % 1000);
  };
  s.line = fmt::format("{} syscall fault{} injected", r.injected_total,
                       r.injected_total == 1 ? "" : "s");
  if (!r.injected.empty()) {
    int64_t first = r.injected[0].first_ns, last = r.injected[0].last_ns;
    for (const auto& i : r.injected) {
      first = std::min(first, i.first_ns);
      last = std::max(last, i.last_ns);
      s.figures.push_back(fmt::format("{}: {} injected, {} to {} UTC", i.name, i.count,
                                      clock(i.first_ns), clock(i.last_ns)));
    }
    s.line += fmt::format(" from {} to {} UTC", clock(first), clock(last));
  }
  if (!r.stopped.empty()) s.line += "; ended: " + r.stopped;
  if (r.exit_code) s.line += fmt::format("; command exited {}", *r.exit_code);
  if (!r.killed_by.empty()) s.line += "; command killed by " + r.killed_by;
  return s;
}

Summary trace(const ptrace::TraceResult& r) {
  if (r.injecting) return injected(r);
  Summary s;
  const auto& sc = r.syscalls;
  auto errors_text = [](uint64_t errors) {
    return errors ? fmt::format(" ({} errors)", errors) : std::string();
  };
  std::string top;
  for (size_t i = 0; i < sc.size() && i < 3; ++i)
    top += fmt::format("{}{} {}{}", top.empty() ? "" : ", ", sc[i].name,
                       ms_text(static_cast<double>(sc[i].time_ns)), errors_text(sc[i].errors));
  for (size_t i = 0; i < sc.size() && i < 5; ++i)
    s.figures.push_back(fmt::format("{}: {} calls, {} errors, {}", sc[i].name, sc[i].calls,
                                    sc[i].errors, ms_text(static_cast<double>(sc[i].time_ns))));
  s.line =
      fmt::format("{} syscalls, {} errors in {} ms", r.total.calls, r.total.errors, r.duration_ms);
  if (!top.empty()) s.line += "; top by time: " + top;
  if (r.exit_code) s.line += fmt::format("; command exited {}", *r.exit_code);
  if (!r.killed_by.empty()) s.line += "; command killed by " + r.killed_by;
  return s;
}

// A frame's name in a profile's frame table or a stack's frame list.
std::string frame_name(const json& f) {
  if (!f.is_object()) return "?";
  std::string fn = json_str(f, "function");
  if (!fn.empty()) return fn;
  std::string mod = json_str(f, "module");
  return mod.empty() ? "?" : mod.substr(mod.rfind('/') + 1) + "+?";
}

Summary profile(const json& r) {
  Summary s;
  const json& frames = json_array(r, "frames");
  std::map<uint32_t, uint64_t> self;  // leaf frame → samples
  uint64_t samples = 0;
  for (const auto& st : json_array(r, "stacks")) {
    if (!st.is_object()) continue;
    uint64_t n = static_cast<uint64_t>(json_number(st, "count"));
    samples += n;
    const json& fr = json_array(st, "frames");
    if (fr.empty()) continue;
    if (auto leaf = render::json_integer<uint32_t>(fr[0])) self[*leaf] += n;
  }
  std::map<std::string, uint64_t> by_name;
  for (const auto& [idx, n] : self)
    by_name[idx < frames.size() ? frame_name(frames[idx]) : "?"] += n;
  std::vector<std::pair<std::string, uint64_t>> hot(by_name.begin(), by_name.end());
  std::sort(hot.begin(), hot.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  uint64_t total =
      render::json_field(r, "samples") ? static_cast<uint64_t>(json_number(r, "samples")) : samples;
  if (total == 0) total = samples;
  std::string top;
  for (size_t i = 0; i < hot.size() && i < 3; ++i) {
    double pct =
        total ? 100.0 * static_cast<double>(hot[i].second) / static_cast<double>(total) : 0;
    top += fmt::format("{}{} {:.0f}%", top.empty() ? "" : ", ", hot[i].first, pct);
    s.figures.push_back(fmt::format("hot: {} {:.0f}%", hot[i].first, pct));
  }
  s.line = fmt::format("{} samples of pid {} ({}, {}, {} ms)", total, num(r, "pid"),
                       json_str(r, "mode"), json_str(r, "sampler"), num(r, "duration_ms"));
  if (!top.empty()) s.line += "; hottest: " + top;
  if (num(r, "lost") > 0) s.line += fmt::format("; {} lost", num(r, "lost"));
  return s;
}

Summary stack(const json& r) {
  Summary s;
  const json& threads = json_array(r, "threads");
  std::map<std::string, int> states;
  std::map<std::string, int> tops;
  for (const auto& t : threads) {
    if (!t.is_object()) continue;
    ++states[json_str(t, "state")];
    // The first frame that has a function name: the innermost is often a
    // libc syscall wrapper with no symbols.
    for (const auto& f : json_array(t, "frames"))
      if (std::string fn = json_str(f, "function"); !fn.empty()) {
        ++tops[fn];
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
  s.line = fmt::format("pid {} {}: {} threads ({})", num(r, "pid"), json_str(r, "comm"),
                       threads.size(), st);
  if (!top.empty()) s.line += "; top frames: " + top;
  return s;
}

Summary jvm(const std::string& op, const json& r) {
  Summary s;
  if (op == "jvm.list") {
    const json& jvms =
        render::json_field(r, "jvms") ? json_array(r, "jvms") : json_array(r, "processes");
    s.line = fmt::format("{} JVMs", jvms.size());
    for (size_t i = 0; i < jvms.size() && i < 3; ++i) {
      if (!jvms[i].is_object()) continue;
      std::string main_class = json_str(jvms[i], "main_class");
      s.figures.push_back(
          fmt::format("jvm pid {} {}", num(jvms[i], "pid"),
                      shorten(main_class.empty() ? json_str(jvms[i], "command") : main_class, 60)));
    }
    return s;
  }
  if (op == "jvm.jfr") {
    s.line = fmt::format("JFR recording of pid {}", num(r, "pid"));
    if (render::json_field(r, "bytes")) s.line += fmt::format(", {} bytes", num(r, "bytes"));
    return s;
  }
  std::string text = json_str(r, "output");
  size_t lines = text.empty() ? 0 : std::count(text.begin(), text.end(), '\n') + 1;
  s.line = fmt::format("{} of pid {}: {} lines", op, num(r, "pid"), lines);
  return s;
}

// sonde inject's network faults: what, where, from when to when, and
// whether it was taken out again.
Summary net_fault(const net::NetFaultResult& r) {
  Summary s;
  auto clock = [](int64_t ns) { return report_model::format_utc(ns / 1000000, "%H:%M:%S"); };
  s.line = fmt::format("network fault {}, {}", r.what, r.scope);
  if (r.planned_only) {
    s.line += ": planned only, nothing changed";
    return s;
  }
  for (const auto& d : r.devices)
    s.figures.push_back(d.qdisc.empty() ? d.dev : fmt::format("{}: {}", d.dev, d.qdisc));
  if (!r.table.empty()) s.figures.push_back("nft table " + r.table);
  if (r.applied)
    s.line += fmt::format(" from {} to {} UTC", clock(r.started_ns), clock(r.ended_ns));
  s.line += r.undone ? fmt::format("; removed ({})", r.stopped) : "; NOT fully removed";
  return s;
}

// The op's own summary from its result; empty when it has none or the
// result does not read.
Summary by_op(const std::string& name, const json& r) {
  if (name == "ps") {
    if (auto p = proc::ps_result_from_json(r)) return ps(*p);
  } else if (name == "inspect") {
    if (auto i = proc::inspect_result_from_json(r)) return inspect(*i);
  } else if (name == "trace") {
    if (auto t = ptrace::trace_result_from_json(r)) return trace(*t);
  } else if (name == "profile") {
    return profile(r);
  } else if (name == "stack") {
    return stack(r);
  } else if (name.rfind("jvm.", 0) == 0) {
    return jvm(name, r);
  } else if (name == "inject_net") {
    if (auto n = net::netfault_result_from_json(r)) return net_fault(*n);
  }
  return {};
}

}  // namespace

Summary summarize_op(const OpRecord& op) {
  const std::string& name = op.op;
  std::string host = op.host.value_or("");
  std::string on_host = host.empty() ? "" : " on " + host;
  if (op.error)
    return {fmt::format("{}{}: {} ({})", name, on_host, op.error->message, op.error->code), {}};
  if (!op.result) return {name + ": no answer", {}};
  const json& r = *op.result;
  Summary s;
  if (!r.is_object()) {
    s.line = name + " done";
  } else {
    s = by_op(name, r);
    // net.* results carry their own one-line verdict.
    if (std::string verdict = json_str(r, "summary"); !verdict.empty()) {
      s.line = verdict;
      if (s.figures.empty()) s.figures.push_back((host.empty() ? "" : host + ": ") + verdict);
    }
  }
  if (s.line.empty()) s.line = fmt::format("{}{}: done", name, on_host);
  return s;
}

Summary summarize_command(const std::string& command, const std::vector<OpRecord>& ops, int exit) {
  Summary out;
  std::vector<std::string> lines;
  for (const auto& op : ops) {
    if (op.op == "ping") continue;
    Summary s = summarize_op(op);
    // One line per side for multi-side checks: say which host said it.
    std::string host = op.host.value_or("");
    if (ops.size() > 1 && !host.empty() && s.line.find(host) == std::string::npos)
      s.line = host + ": " + s.line;
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
