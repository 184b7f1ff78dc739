#include "sonde/render/stack.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "sonde/render/fleet.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

using sonde::profiler::Frame;
using sonde::profiler::FrameKind;
using sonde::profiler::StackDump;
using sonde::profiler::ThreadStack;

// What follows the address: "clock_nanosleep+0xca - libc.so.6",
// "c [inlined] - stack_tracee", "libfoo.so+0x1234", "[syscall read]", "??".
std::string frame_text(const Frame& f) {
  if (f.kind == FrameKind::kSyscall) return sonde::profiler::display_name(f);
  if (f.function.empty()) {
    // The module+offset form already names the module; without a module the
    // address is all there is, as eu-stack's "??".
    if (f.kind == FrameKind::kCode && !f.module.empty()) return sonde::profiler::display_name(f);
    return "??";
  }
  std::string s = f.function;
  // Inlined frames share the caller's address: an offset would be the caller's.
  if (f.inlined)
    s += " [inlined]";
  else if (f.sym_offset)
    s += fmt::format("+{:#x}", f.sym_offset);
  if (!f.module.empty()) s += " - " + sonde::profiler::module_basename(f);
  return s;
}

std::string thread_header(const ThreadStack& t) {
  std::string s = fmt::format("TID {}", t.tid);
  if (!t.name.empty()) s += " " + t.name;
  if (!t.error.empty()) return s + ": error: " + t.error;
  bool state = t.state != '?' && t.state != '\0';
  if (state && !t.syscall.empty())
    s += fmt::format(" ({}, in {})", t.state, t.syscall);
  else if (state)
    s += fmt::format(" ({})", t.state);
  else if (!t.syscall.empty())
    s += fmt::format(" (in {})", t.syscall);
  return s + ":";
}

void render_thread(std::string& out, const ThreadStack& t) {
  out += terminal_safe(thread_header(t)) + "\n";
  if (!t.error.empty()) return;
  bool truncated = t.truncated;
  size_t shown = 0;
  for (const auto& f : t.frames) shown += f.kind != FrameKind::kTruncated;
  // "#0  " like eu-stack, wider once the numbers need it, so addresses align.
  size_t numw = std::max<size_t>(2, fmt::formatted_size("{}", shown ? shown - 1 : 0));
  std::string indent(1 + numw + 1 + 2, ' ');
  size_t n = 0;
  for (const auto& f : t.frames) {
    if (f.kind == FrameKind::kTruncated) {
      truncated = true;
      continue;
    }
    std::string addr = f.address || f.kind != FrameKind::kSyscall
                           ? fmt::format("{:#018x}", f.address)
                           : std::string(18, ' ');
    out += terminal_safe(fmt::format("#{:<{}} {} {}", n++, numw, addr, frame_text(f))) + "\n";
    if (!f.file.empty())
      out += indent + terminal_safe(f.line ? fmt::format("{}:{}", f.file, f.line) : f.file) + "\n";
  }
  if (shown == 0 && !truncated) out += "  (no frames)\n";
  if (truncated) out += "[truncated]\n";
}

}  // namespace

std::string render_stack_dump(const StackDump& d) {
  std::string out = terminal_safe(fmt::format("PID {} - {}", d.pid, d.comm)) + "\n";
  for (const auto& t : d.threads) render_thread(out, t);
  if (d.threads.empty()) out += "(no threads)\n";
  if (d.threads_more)
    out += fmt::format("… {} more thread{} not shown (see the notes)\n", d.threads_more,
                       d.threads_more == 1 ? "" : "s");
  for (const auto& n : d.notes) out += "note: " + terminal_safe(n) + "\n";
  if (d.capture_us != 0 || d.resolve_us != 0)
    out += fmt::format(
        "({} thread{}, each held stopped {:.2f} ms at most; capture {:.1f} ms, "
        "unwind+symbols {:.1f} ms)\n",
        d.threads.size(), d.threads.size() == 1 ? "" : "s", d.max_stop_us / 1e3, d.capture_us / 1e3,
        d.resolve_us / 1e3);
  return out;
}

namespace {

// Where a thread is, the same on every host that runs the same code: each
// frame's function and module, not addresses (they differ with ASLR) nor
// offsets; a thread with no stack is where its error says.
std::vector<std::string> place_of(const ThreadStack& t) {
  if (!t.error.empty()) return {"error: " + t.error};
  std::vector<std::string> place;
  place.reserve(t.frames.size());
  for (const auto& f : t.frames) {
    if (f.kind == FrameKind::kTruncated) continue;
    std::string s = f.function.empty() || f.kind == FrameKind::kSyscall
                        ? sonde::profiler::display_name(f)
                        : f.function + (f.inlined ? " [inlined]" : "");
    // module+offset names differ per build: keep only the module then.
    if (f.function.empty() && f.kind == FrameKind::kCode && !f.module.empty())
      s = sonde::profiler::module_basename(f);
    if (!f.module.empty() && !f.function.empty()) s += " - " + sonde::profiler::module_basename(f);
    place.push_back(std::move(s));
  }
  if (t.truncated) place.push_back("[truncated]");
  return place;
}

constexpr size_t kThreadsNamedPerPlace = 4;

}  // namespace

std::string render_stack_fleet(const std::vector<std::pair<std::string, StackDump>>& hosts,
                               const HostFolder& fold) {
  struct Place {
    std::vector<std::string> frames;
    std::vector<std::string> hosts;    // each once, in host order
    std::vector<std::string> threads;  // "lab01 TID 12 name (S, in read)"
    size_t thread_count = 0;
  };
  std::vector<Place> places;
  std::map<std::vector<std::string>, size_t> index;
  uint64_t more = 0;
  for (const auto& [host, d] : hosts) {
    more += d.threads_more;
    for (const auto& t : d.threads) {
      auto key = place_of(t);
      auto [it, fresh] = index.emplace(key, places.size());
      if (fresh) places.push_back({std::move(key), {}, {}, 0});
      Place& p = places[it->second];
      if (p.hosts.empty() || p.hosts.back() != host) p.hosts.push_back(host);
      ++p.thread_count;
      if (p.threads.size() < kThreadsNamedPerPlace) {
        std::string h = thread_header(t);
        if (!h.empty() && h.back() == ':') h.pop_back();
        p.threads.push_back(host + " " + h);
      }
    }
  }
  // The place most hosts share first: "these 37 hosts are stuck in the same place".
  std::stable_sort(places.begin(), places.end(), [](const Place& a, const Place& b) {
    if (a.hosts.size() != b.hosts.size()) return a.hosts.size() > b.hosts.size();
    return a.thread_count > b.thread_count;
  });
  std::string out;
  for (const auto& p : places) {
    out += terminal_safe(fmt::format("== {} host{}, {} thread{}: {} ==", p.hosts.size(),
                                     p.hosts.size() == 1 ? "" : "s", p.thread_count,
                                     p.thread_count == 1 ? "" : "s", fold(p.hosts))) +
           "\n";
    size_t n = 0;
    for (const auto& f : p.frames) out += terminal_safe(fmt::format("#{:<2} {}", n++, f)) + "\n";
    if (p.frames.empty()) out += "  (no frames)\n";
    for (const auto& t : p.threads) out += "   " + terminal_safe(t) + "\n";
    if (p.thread_count > p.threads.size())
      out += fmt::format("   … {} more thread{} here\n", p.thread_count - p.threads.size(),
                         p.thread_count - p.threads.size() == 1 ? "" : "s");
  }
  if (places.empty()) out += "(no threads)\n";
  if (more)
    out += fmt::format("… {} more thread{} over the hosts' caps, not grouped\n", more,
                       more == 1 ? "" : "s");
  return out;
}

}  // namespace sonde::render
