#include "sonde/render/jvm.h"

#include <algorithm>
#include <map>

#include "sonde/common/io.h"
#include "sonde/render/table.h"

namespace sonde::render {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::string jdwp_cell(const json& j) {
  const json& d = j.contains("jdwp") ? j["jdwp"] : json();
  if (!d.is_object()) return "-";
  std::string addr = field_text(d, "address", "");
  if (addr.empty()) addr = "(random port)";
  if (!d.value("server", false)) return "dials " + addr;
  return addr + (d.value("listening", false) ? " listening" : "");
}

std::string jmx_cell(const json& j) {
  const json& m = j.contains("jmx") ? j["jmx"] : json();
  if (!m.is_object() || !m.value("enabled", false)) return "-";
  int port = m.value("port", 0);
  if (port == 0) return "local";
  std::string s = std::to_string(port);
  int rmi = m.value("rmi_port", 0);
  if (rmi && rmi != port) s += "/" + std::to_string(rmi);
  return s;
}

std::string heap_cell(const json& j) {
  const json& h = j.contains("heap") ? j["heap"] : json();
  if (!h.is_object()) return "-";
  std::string max = field_text(h, "max", "");
  std::string s = max.empty() ? "" : "max " + max;
  if (max.empty() && h.contains("limit_bytes"))
    s = "max " + human_bytes(static_cast<unsigned long long>(field_number(h, "limit_bytes")));
  if (h.contains("used_bytes"))
    s += (s.empty() ? "" : ", ") +
         human_bytes(static_cast<unsigned long long>(field_number(h, "used_bytes"))) + " used";
  return s.empty() ? "-" : s;
}

}  // namespace

std::string format_uptime(double seconds) {
  long s = static_cast<long>(seconds);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string render_jvm_list(const json& r, int term_width) {
  std::string out;
  const json& jvms = r.contains("jvms") ? r["jvms"] : json::array();
  if (!jvms.is_array() || jvms.empty()) {
    out = "no JVMs found\n";
  } else {
    Table t({{"PID", Align::kRight},
             {"USER"},
             {"JAVA"},
             {"UPTIME", Align::kRight},
             {"HEAP"},
             {"JDWP"},
             {"JMX"},
             {"CONTAINER"},
             {"ATTACH"},
             {"MAIN"}});
    for (const auto& j : jvms) {
      std::string pid = field_text(j, "pid");
      if (j.value("nspid", 0) != j.value("pid", 0)) pid += " (" + field_text(j, "nspid") + ")";
      const json& c = j.contains("container") ? j["container"] : json::object();
      std::string container = c.is_object() && c.value("in_container", false) ? "yes" : "-";
      std::string attach = j.value("attach_disabled", false)  ? "disabled"
                           : j.value("reduce_signals", false) ? "no (-Xrs)"
                           : j.value("attach_socket", false)  ? "open"
                                                              : "-";
      std::string main = field_text(j, "main", "");
      if (j.value("main_kind", "") == "jar") main = "-jar " + main;
      if (main.empty()) main = field_text(j, "command", "?");
      t.add_row({pid, field_text(j, "user", "?"), field_text(j, "java_version", "?"),
                 j.contains("uptime_s") ? format_uptime(field_number(j, "uptime_s")) : "?",
                 heap_cell(j), jdwp_cell(j), jmx_cell(j), container, attach, main});
    }
    out = t.render(term_width);
  }
  if (r.contains("notes") && r["notes"].is_array())
    for (const auto& n : r["notes"])
      if (n.is_string()) out += "note: " + terminal_safe(n.get<std::string>()) + "\n";
  return out;
}

std::vector<std::pair<std::string, long long>> parse_jfr_summary(std::string_view text) {
  std::vector<std::pair<std::string, long long>> out;
  bool in_table = false;
  for (auto line : lines_of(text)) {
    std::string_view t = trim(line);
    if (!in_table) {
      if (!t.empty() && t.find_first_not_of('=') == std::string_view::npos) in_table = true;
      continue;
    }
    if (t.empty()) break;
    // "jdk.ExecutionSample     1234     56789"
    size_t sp = t.find_first_of(" \t");
    if (sp == std::string_view::npos) continue;
    std::string_view name = t.substr(0, sp), rest = trim(t.substr(sp));
    size_t sp2 = rest.find_first_of(" \t");
    std::string_view count = rest.substr(0, sp2);
    if (count.empty() || count.find_first_not_of("0123456789") != std::string_view::npos) continue;
    out.emplace_back(std::string(name), std::stoll(std::string(count)));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

std::vector<std::pair<std::string, long long>> hottest_methods(std::string_view text, size_t top) {
  std::map<std::string, long long> counts;
  bool want_top = false;
  for (auto line : lines_of(text)) {
    std::string_view t = trim(line);
    if (t.rfind("stackTrace = [", 0) == 0) {
      want_top = true;
      continue;
    }
    if (!want_top) continue;
    want_top = false;
    if (t == "]" || t == "...") continue;
    // "JvmTarget.hotLoop(long) line: 10" → "JvmTarget.hotLoop(long)"
    size_t cut = t.find(" line:");
    std::string_view m = trim(t.substr(0, cut));
    if (!m.empty()) ++counts[std::string(m)];
  }
  std::vector<std::pair<std::string, long long>> out(counts.begin(), counts.end());
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (out.size() > top) out.resize(top);
  return out;
}

std::string terminal_safe_text(std::string_view text) {
  std::string s(text);
  for (char& c : s)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7f) c = '?';
  return s;
}

}  // namespace sonde::render
