#include "sonde/render/inspect.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "sonde/common/io.h"
#include "sonde/render/fleet.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

std::string kb(const std::optional<uint64_t>& v) {
  return v ? human_bytes(*v * 1024ULL) : "?";
}

std::string ids(const proc::IdSet& q) {
  if (q.real == q.effective && q.effective == q.saved && q.saved == q.fs)
    return std::to_string(q.real);
  return fmt::format("real {} effective {} saved {} fs {}", q.real, q.effective, q.saved, q.fs);
}

template <typename T>
std::string or_unknown(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : "?";
}

std::string describe_fd(const proc::FdEntry& fd) {
  if (!fd.socket) return fd.target;
  const proc::SocketInfo& s = *fd.socket;
  if (s.proto == proc::kUnknownSocket) return fd.target + " (not in the namespace's socket tables)";
  std::string text = s.proto;
  if (s.proto == "unix") text += " " + s.type;
  text += " " + (s.local.empty() ? std::string("(unnamed)") : s.local);
  if (!s.peer.empty()) text += " -> " + s.peer;
  text += " " + s.state;
  return text;
}

bool has_any(const proc::MemoryKb& m) {
  for (const auto& f : proc::kMemoryFields)
    if (m.*f.field) return true;
  return false;
}

std::string memory_text(const proc::MemoryKb& m) {
  // Only what the agent could read: smaps_rollup (pss) needs ptrace access.
  std::string mem = "rss " + kb(m.rss);
  if (m.pss)
    mem += fmt::format("  pss {} (anon {}, file {}, shmem {})", kb(m.pss), kb(m.pss_anon),
                       kb(m.pss_file), kb(m.pss_shmem));
  if (m.swap) mem += "  swap " + kb(m.swap);
  if (m.vm_size)
    mem += fmt::format("  vm {} (peak {}, hwm {})", kb(m.vm_size), kb(m.vm_peak), kb(m.vm_hwm));
  return mem;
}

// Control characters in every free-text field come from the target: keep
// them off the terminal here too, not only in tables.
void mask_controls(std::string& s) {
  for (char& c : s)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) c = '?';
}

std::string list_section(const std::vector<std::string>& items, const std::string& title) {
  if (items.empty()) return "";
  std::string sec = "\n" + title + "\n";
  for (const auto& i : items) sec += "  " + i + "\n";
  mask_controls(sec);
  return sec;
}

}  // namespace

std::string denied_text(const proc::AccessDenied& denied) {
  std::string parts;
  for (const auto& p : denied.parts) parts += (parts.empty() ? "" : ", ") + p;
  return denied.message + "; not read: " + parts;
}

std::string render_inspect_text(const proc::InspectResult& r) {
  std::string out;
  auto line = [&](const std::string& label, const std::string& value) {
    if (!value.empty()) out += fmt::format("{:<9}{}\n", label, value);
  };

  out += fmt::format("pid {}  {}  ({} {})  user {}  ppid {}\n", r.pid, r.comm,
                     r.state ? std::string(1, *r.state) : "?", r.state_name.value_or("?"),
                     r.user.value_or("?"), or_unknown(r.ppid));
  line("exe", r.exe.value_or(""));
  std::string cmd;
  for (const auto& a : r.cmdline) {
    // Piecewise, not `"" + string`: GCC 12 -O3's false -Wrestrict (bug 105651).
    if (!cmd.empty()) cmd += ' ';
    cmd += a;
  }
  line("cmdline", cmd);
  line("cwd", r.cwd.value_or(""));
  line("root", r.root.value_or(""));
  if (r.start_time) line("started", format_datetime(*r.start_time));
  if (r.uid) line("uid", ids(*r.uid));
  if (r.gid) line("gid", fmt::format("{} ({})", ids(*r.gid), r.group.value_or("?")));
  if (has_any(r.memory)) line("memory", memory_text(r.memory));
  mask_controls(out);

  uint64_t threads_more = r.threads_more.value_or(0);
  out += threads_more > 0
             ? fmt::format("\nthreads ({} shown, {} more)\n", r.threads.size(), threads_more)
             : fmt::format("\nthreads ({})\n", r.threads.size());
  Table tt({{"TID", Align::kRight}, {"NAME"}, {"S"}, {"WCHAN"}});
  for (const auto& t : r.threads)
    tt.add_row({std::to_string(t.tid), t.name, std::string(1, t.state), t.wchan});
  out += tt.render();
  if (threads_more > 0) out += fmt::format("… {} more threads not listed\n", threads_more);

  if (r.fds_error) {
    // Never an empty table: that would read as a process with no files.
    std::string why = "\nopen files: could not be read: " + *r.fds_error + "\n";
    const bool refused = r.denied && std::find(r.denied->parts.begin(), r.denied->parts.end(),
                                               "open files") != r.denied->parts.end();
    if (refused && !r.denied->hint.empty()) why += "  hint: " + r.denied->hint + "\n";
    mask_controls(why);
    out += why;
  } else {
    out += r.fds_more > 0
               ? fmt::format("\nopen files ({} shown, {} more)\n", r.fds.size(), r.fds_more)
               : fmt::format("\nopen files ({})\n", r.fds.size());
    Table ft({{"FD", Align::kRight}, {"KIND"}, {"FLAGS"}, {"POS", Align::kRight}, {"TARGET"}});
    for (const auto& f : r.fds)
      ft.add_row({std::to_string(f.fd), f.kind, f.flags.value_or(""),
                  f.pos ? std::to_string(*f.pos) : "", describe_fd(f)});
    out += ft.render();
    if (r.fds_more > 0)
      out += fmt::format("… {} more fds not listed (the lowest-numbered are shown)\n", r.fds_more);
  }

  if (r.limits && !r.limits->empty()) {
    out += "\nlimits\n";
    Table lt({{"LIMIT"}, {"SOFT", Align::kRight}, {"HARD", Align::kRight}, {"UNITS"}});
    for (const auto& l : *r.limits) lt.add_row({l.name, l.soft, l.hard, l.units});
    out += lt.render();
  }

  std::string shared, separate;
  for (const auto& n : r.namespaces) {
    std::string item =
        n.same_as_agent ? n.type : fmt::format("{}:[{}]", n.type, or_unknown(n.inode));
    std::string& dst = n.same_as_agent ? shared : separate;
    dst += (dst.empty() ? "" : " ") + item;
  }
  if (!shared.empty() || !separate.empty()) {
    out += "\nnamespaces\n";
    if (!shared.empty()) out += "  same as the agent: " + shared + "\n";
    if (!separate.empty()) out += "  its own: " + separate + "\n";
  }

  out += list_section(r.cgroup, "cgroup");
  if (r.env) out += list_section(*r.env, fmt::format("environment ({})", r.env->size()));
  std::vector<std::string> notes = r.notes;
  if (r.denied) {
    notes.push_back(denied_text(*r.denied));
    if (!r.denied->hint.empty()) notes.push_back("hint: " + r.denied->hint);
  }
  out += list_section(notes, "notes");
  return out;
}

std::string render_inspect_fleet(
    const std::vector<std::pair<std::string, proc::InspectResult>>& hosts, int term_width) {
  Table t({{"HOST"},
           {"PID", Align::kRight},
           {"USER"},
           {"S"},
           {"THREADS", Align::kRight},
           {"FDS", Align::kRight},
           {"RSS MB", Align::kRight},
           {"START"},
           {"COMMAND"}});
  const long long now = static_cast<long long>(std::time(nullptr));
  for (const auto& [host, r] : hosts) {
    std::string cmd;
    for (const auto& a : r.cmdline) cmd += (cmd.empty() ? "" : " ") + a;
    if (cmd.empty()) cmd = "[" + r.comm + "]";
    const uint64_t threads = r.threads.size() + r.threads_more.value_or(0);
    t.add_row(
        {host, std::to_string(r.pid), r.user.value_or("?"),
         r.state ? std::string(1, *r.state) : "?", std::to_string(threads),
         r.fds_error ? "?" : std::to_string(r.fds.size() + r.fds_more),
         r.memory.rss ? fmt::format("{:.1f}", static_cast<double>(*r.memory.rss) / 1024.0) : "?",
         r.start_time ? format_start(*r.start_time, now) : "?", cmd});
  }
  return t.render(term_width);
}

}  // namespace sonde::render
