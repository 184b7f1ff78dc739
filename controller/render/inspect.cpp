#include "sonde/render/inspect.h"

#include <fmt/format.h>

#include "sonde/common/io.h"
#include "sonde/common/json_text.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

using sonde::json;

const json& array_field(const json& obj, const char* key) {
  static const json empty = json::array();
  if (!obj.is_object()) return empty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_array() ? *it : empty;
}

std::string kb(const json& mem, const char* key) {
  if (!mem.is_object() || !mem.contains(key) || !mem[key].is_number()) return "?";
  return human_bytes(mem[key].get<unsigned long long>() * 1024ULL);
}

std::string ids(const json& q) {
  if (!q.is_object()) return "?";
  std::string r = field_text(q, "real", "?"), e = field_text(q, "effective", "?");
  std::string s = field_text(q, "saved", "?"), f = field_text(q, "fs", "?");
  if (r == e && e == s && s == f) return r;
  return fmt::format("real {} effective {} saved {} fs {}", r, e, s, f);
}

std::string describe_fd(const json& fd) {
  std::string target = field_text(fd, "target");
  auto it = fd.find("socket");
  if (it == fd.end() || !it->is_object()) return target;
  const json& s = *it;
  std::string proto = field_text(s, "proto", "?");
  if (proto == "unknown") return target + " (not in the namespace's socket tables)";
  std::string text = proto;
  if (proto == "unix") text += " " + field_text(s, "type", "?");
  std::string local = field_text(s, "local");
  text += " " + (local.empty() ? std::string("(unnamed)") : local);
  if (s.contains("peer")) text += " -> " + field_text(s, "peer");
  text += " " + field_text(s, "state");
  return text;
}

}  // namespace

std::string render_inspect_text(const json& r) {
  std::string out;
  auto line = [&](const std::string& label, const std::string& value) {
    if (!value.empty()) out += fmt::format("{:<9}{}\n", label, value);
  };

  out += fmt::format("pid {}  {}  ({} {})  user {}  ppid {}\n", field_text(r, "pid", "?"),
                     field_text(r, "comm", "?"), field_text(r, "state", "?"),
                     field_text(r, "state_name", "?"), field_text(r, "user", "?"),
                     field_text(r, "ppid", "?"));
  line("exe", field_text(r, "exe"));
  std::string cmd;
  for (const auto& a : array_field(r, "cmdline")) {
    // Piecewise, not `"" + string`: GCC 12 -O3's false -Wrestrict (bug 105651).
    if (!cmd.empty()) cmd += ' ';
    cmd += a.is_string() ? a.get<std::string>() : json_text(a);
  }
  line("cmdline", cmd);
  line("cwd", field_text(r, "cwd"));
  line("root", field_text(r, "root"));
  if (r.contains("start_time"))
    line("started", format_datetime(static_cast<long long>(field_number(r, "start_time"))));
  if (r.contains("uid")) line("uid", ids(r["uid"]));
  if (r.contains("gid"))
    line("gid", fmt::format("{} ({})", ids(r["gid"]), field_text(r, "group", "?")));
  if (r.contains("memory") && r["memory"].is_object() && !r["memory"].empty()) {
    const json& m = r["memory"];
    // Only what the agent could read: smaps_rollup (pss) needs ptrace access.
    std::string mem = "rss " + kb(m, "rss_kb");
    if (m.contains("pss_kb"))
      mem += fmt::format("  pss {} (anon {}, file {}, shmem {})", kb(m, "pss_kb"),
                         kb(m, "pss_anon_kb"), kb(m, "pss_file_kb"), kb(m, "pss_shmem_kb"));
    if (m.contains("swap_kb")) mem += "  swap " + kb(m, "swap_kb");
    if (m.contains("vm_size_kb"))
      mem += fmt::format("  vm {} (peak {}, hwm {})", kb(m, "vm_size_kb"), kb(m, "vm_peak_kb"),
                         kb(m, "vm_hwm_kb"));
    line("memory", mem);
  }
  // Control characters in every free-text field come from the target: keep
  // them off the terminal here too, not only in tables.
  for (char& c : out)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) c = '?';

  const json& threads = array_field(r, "threads");
  long threads_more = static_cast<long>(field_number(r, "threads_more"));
  out += threads_more > 0
             ? fmt::format("\nthreads ({} shown, {} more)\n", threads.size(), threads_more)
             : fmt::format("\nthreads ({})\n", threads.size());
  Table tt({{"TID", Align::kRight}, {"NAME"}, {"S"}, {"WCHAN"}});
  for (const auto& t : threads)
    tt.add_row({field_text(t, "tid", "?"), field_text(t, "name"), field_text(t, "state"),
                field_text(t, "wchan")});
  out += tt.render();
  if (threads_more > 0) out += fmt::format("… {} more threads not listed\n", threads_more);

  const json& fds = array_field(r, "fds");
  long fds_more = static_cast<long>(field_number(r, "fds_more"));
  out += fds_more > 0 ? fmt::format("\nopen files ({} shown, {} more)\n", fds.size(), fds_more)
                      : fmt::format("\nopen files ({})\n", fds.size());
  Table ft({{"FD", Align::kRight}, {"KIND"}, {"FLAGS"}, {"POS", Align::kRight}, {"TARGET"}});
  for (const auto& f : fds)
    ft.add_row({field_text(f, "fd", "?"), field_text(f, "kind"), field_text(f, "flags"),
                field_text(f, "pos"), describe_fd(f)});
  out += ft.render();
  if (fds_more > 0)
    out += fmt::format("… {} more fds not listed (the lowest-numbered are shown)\n", fds_more);

  const json& limits = array_field(r, "limits");
  if (!limits.empty()) {
    out += "\nlimits\n";
    Table lt({{"LIMIT"}, {"SOFT", Align::kRight}, {"HARD", Align::kRight}, {"UNITS"}});
    for (const auto& l : limits)
      lt.add_row({field_text(l, "name"), field_text(l, "soft"), field_text(l, "hard"),
                  field_text(l, "units")});
    out += lt.render();
  }

  std::string shared, separate;
  for (const auto& n : array_field(r, "namespaces")) {
    bool same = n.is_object() && n.value("same_as_agent", false);
    std::string item =
        same ? field_text(n, "type")
             : fmt::format("{}:[{}]", field_text(n, "type"), field_text(n, "inode", "?"));
    std::string& dst = same ? shared : separate;
    dst += (dst.empty() ? "" : " ") + item;
  }
  if (!shared.empty() || !separate.empty()) {
    out += "\nnamespaces\n";
    if (!shared.empty()) out += "  same as the agent: " + shared + "\n";
    if (!separate.empty()) out += "  its own: " + separate + "\n";
  }

  auto list_section = [&](const char* key, const std::string& title) {
    const json& items = array_field(r, key);
    if (items.empty()) return;
    std::string sec = "\n" + title + "\n";
    for (const auto& i : items)
      sec += "  " + (i.is_string() ? i.get<std::string>() : json_text(i)) + "\n";
    for (char& c : sec)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) c = '?';
    out += sec;
  };
  list_section("cgroup", "cgroup");
  if (r.contains("env"))
    list_section("env", fmt::format("environment ({})", array_field(r, "env").size()));
  list_section("notes", "notes");
  return out;
}

}  // namespace sonde::render
