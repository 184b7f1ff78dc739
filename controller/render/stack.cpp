#include "sonde/render/stack.h"

#include <fmt/format.h>

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

}  // namespace sonde::render
