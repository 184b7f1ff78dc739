#include "sonde/render/jvm.h"
#include "sonde/render/fleet.h"

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

std::string jdwp_cell(const jvm::JvmInfo& j) {
  if (!j.jdwp) return "-";
  const jvm::JdwpAgent& d = *j.jdwp;
  std::string addr = d.address.empty() ? "(random port)" : d.address;
  if (!d.server) return "dials " + addr;
  return addr + (d.listening ? " listening" : "");
}

std::string jmx_cell(const jvm::JvmInfo& j) {
  const jvm::JmxOptions& m = j.jmx;
  if (!m.enabled) return "-";
  if (m.port == 0) return "local";
  std::string s = std::to_string(m.port);
  if (m.rmi_port && m.rmi_port != m.port) s += "/" + std::to_string(m.rmi_port);
  return s;
}

std::string heap_cell(const jvm::JvmInfo& j) {
  const jvm::JvmHeap& h = j.heap;
  std::string s = h.max.empty() ? "" : "max " + h.max;
  if (h.max.empty() && h.limit_bytes)
    s = "max " + human_bytes(static_cast<unsigned long long>(*h.limit_bytes));
  if (h.used_bytes)
    s += (s.empty() ? "" : ", ") + human_bytes(static_cast<unsigned long long>(*h.used_bytes)) +
         " used";
  return s.empty() ? "-" : s;
}

std::string attach_cell(const jvm::JvmInfo& j) {
  if (j.attach_disabled) return "disabled";
  if (j.reduce_signals) return "no (-Xrs)";
  return j.attach_socket ? "open" : "-";
}

std::string main_cell(const jvm::JvmInfo& j) {
  std::string main = j.main;
  if (j.main_kind == "jar") main = "-jar " + main;
  return main.empty() ? j.command : main;
}

}  // namespace

std::string format_uptime(double seconds) {
  long s = static_cast<long>(seconds);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

namespace {

// The JVM table; with hosts, a HOST column first (a fleet run).
std::string jvm_table(const std::vector<std::pair<std::string, const jvm::JvmInfo*>>& rows,
                      bool with_host, int term_width) {
  std::vector<Column> cols = {{"PID", Align::kRight},
                              {"USER"},
                              {"JAVA"},
                              {"UPTIME", Align::kRight},
                              {"HEAP"},
                              {"JDWP"},
                              {"JMX"},
                              {"CONTAINER"},
                              {"ATTACH"},
                              {"MAIN"}};
  if (with_host) cols.insert(cols.begin(), Column{"HOST"});
  Table t(std::move(cols));
  for (const auto& [host, jp] : rows) {
    const jvm::JvmInfo& j = *jp;
    std::string pid = std::to_string(j.pid);
    if (j.nspid && *j.nspid != j.pid) pid += " (" + std::to_string(*j.nspid) + ")";
    std::vector<std::string> cells = {pid,
                                      j.user.value_or("?"),
                                      j.java_version,
                                      j.uptime_s ? format_uptime(*j.uptime_s) : "?",
                                      heap_cell(j),
                                      jdwp_cell(j),
                                      jmx_cell(j),
                                      j.container.in_container ? "yes" : "-",
                                      attach_cell(j),
                                      main_cell(j)};
    if (with_host) cells.insert(cells.begin(), host);
    t.add_row(std::move(cells));
  }
  return t.render(term_width);
}

}  // namespace

std::string render_jvm_list(const jvm::JvmListResult& r, int term_width) {
  std::string out;
  if (r.jvms.empty()) {
    out = "no JVMs found\n";
  } else {
    std::vector<std::pair<std::string, const jvm::JvmInfo*>> rows;
    for (const auto& j : r.jvms) rows.emplace_back("", &j);
    out = jvm_table(rows, false, term_width);
  }
  for (const auto& n : r.notes) out += "note: " + terminal_safe(n) + "\n";
  return out;
}

std::string render_jvm_list_fleet(
    const std::vector<std::pair<std::string, jvm::JvmListResult>>& hosts, int term_width) {
  std::vector<std::pair<std::string, const jvm::JvmInfo*>> rows;
  std::string notes;
  for (const auto& [host, r] : hosts) {
    for (const auto& j : r.jvms) rows.emplace_back(host, &j);
    for (const auto& n : r.notes) notes += host + ": note: " + terminal_safe(n) + "\n";
  }
  std::string out =
      rows.empty() ? "no JVMs found on any host\n" : jvm_table(rows, true, term_width);
  return out + notes;
}

std::string render_jvm_attach(const jvm::JvmAttachResult& r) {
  std::string out = terminal_safe_text(r.output);
  if (!out.empty() && out.back() != '\n') out += "\n";
  if (r.output_more_bytes > 0)
    out += fmt::format("… ({} more bytes of the JVM's reply not shown: capped at 8 MiB)\n",
                       r.output_more_bytes);
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

json to_json(const JfrSummary& s) {
  json j = {{"tool", or_null(s.tool)}};
  if (s.note) j["note"] = *s.note;
  if (s.events) {
    json events = json::array();
    for (const auto& [type, count] : *s.events)
      events.push_back({{"type", type}, {"count", count}});
    j["events"] = std::move(events);
  }
  if (s.hottest) {
    json hot = json::array();
    for (const auto& [method, n] : *s.hottest) hot.push_back({{"method", method}, {"samples", n}});
    j["hottest"] = std::move(hot);
  }
  return j;
}

std::string render_jfr(const jvm::JfrResult& r, const JfrSummary& summary,
                       const std::string& file) {
  std::string text =
      fmt::format("JVM {}: {:.1f} s recording ({} settings{}), {} in {}\n", r.pid,
                  static_cast<double>(r.recorded_ms) / 1000, r.settings,
                  r.stopped_early ? ", stopped early" : "", human_bytes(r.bytes), file);
  if (summary.events) {
    text += fmt::format("\nevents (top 10 of {} types)\n", summary.events->size());
    size_t n = 0;
    bool samples_shown = false;
    std::optional<long long> samples;
    for (const auto& [type, count] : *summary.events) {
      bool is_samples = type == "jdk.ExecutionSample";
      if (is_samples) samples = count;
      if (n++ >= 10) continue;
      samples_shown |= is_samples;
      text += fmt::format("  {:>9}  {}\n", count, terminal_safe(type));
    }
    // The method samples matter most for a profile: always shown.
    if (samples && !samples_shown)
      text += fmt::format("  {:>9}  {}\n", "...", "") +
              fmt::format("  {:>9}  jdk.ExecutionSample\n", *samples);
  }
  if (summary.hottest && !summary.hottest->empty()) {
    text += "\nhottest methods (top frames of execution samples)\n";
    for (const auto& [method, n] : *summary.hottest)
      text += fmt::format("  {:>7}  {}\n", n, terminal_safe(method));
  }
  if (summary.note) text += "note: " + *summary.note + "\n";
  text += fmt::format("open it in JDK Mission Control, or: jfr print {}\n", file);
  return text;
}

std::string render_jmx_started(const jvm::JmxStarted& s, const std::string& host, int local_port) {
  return fmt::format(
      "JMX agent of JVM {} started on {}:{} on {} (registry and RMI on one port), "
      "forwarded to localhost:{}\n"
      "  URL        {}\n"
      "  user       {}\n"
      "  password   {}\n"
      "  jconsole   jconsole {}   (then the user and password above)\n"
      "  VisualVM   visualvm --openjmx localhost:{}\n"
      "  JMC        File > Connect > Create a new connection: host localhost, port {}, "
      "the user and password above\n"
      "The login is made for this agent only (password file 0600 on the target); no "
      "TLS: the agent listens on loopback on the target and the forward on 127.0.0.1 "
      "here.\n"
      "{}Ctrl-C ends the forward.\n",
      s.pid, s.bind, s.port, host, local_port, s.url, s.user, s.password, s.url, s.port, s.port,
      s.kept ? fmt::format("The agent and its login stay in the JVM afterwards (--keep); "
                           "`jcmd {} ManagementAgent.stop` and removing {} on the target undo "
                           "it.\n",
                           s.pid, terminal_safe(s.files))
             : "The agent is stopped and its login removed when sonde exits (--keep leaves "
               "them).\n");
}

std::string render_jmx_already_running(const jvm::JmxAlreadyRunning& r, const std::string& target) {
  return fmt::format(
      "JVM {} already runs its JMX agent{}.\n{}"
      "To reach it from here, forward its port(s) with `sonde forward {} PORT`; if its "
      "RMI port differs from the registry port or java.rmi.server.hostname is not "
      "127.0.0.1, forward both and expect the stub to name the JVM's host.\n",
      r.pid, r.url.empty() ? "" : " at " + terminal_safe(r.url), terminal_safe_text(r.status),
      target.empty() ? "TARGET" : target);
}

std::string render_jdwp_forward(const jvm::JvmInfo& jvm, const std::string& host, int local_port,
                                const std::string& remote_host, int remote_port,
                                const std::vector<std::string>& notes) {
  int lp = local_port;
  std::string t = fmt::format(
      "JDWP of JVM {} ({}) on {}: localhost:{} -> {}:{} on the target\n"
      "  jdb       jdb -attach localhost:{}\n"
      "  IntelliJ  Run > Edit Configurations > + Remote JVM Debug: host localhost, port {}\n"
      "  VS Code   launch.json: {{\"type\": \"java\", \"request\": \"attach\", "
      "\"hostName\": \"localhost\", \"port\": {}}}\n"
      "  Eclipse   Debug Configurations > Remote Java Application: localhost, port {}\n",
      jvm.pid, terminal_safe(jvm.main), host, lp, remote_host, remote_port, lp, lp, lp, lp);
  for (const auto& n : notes) t += "note: " + n + "\n";
  t += "warning: JDWP has no authentication: whoever reaches the port can run any code in "
       "the JVM. The forward listens on 127.0.0.1 only; keep it that way.\n"
       "Ctrl-C ends the forward.\n";
  return t;
}

std::string terminal_safe_text(std::string_view text) {
  std::string s(text);
  for (char& c : s)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7f) c = '?';
  return s;
}

}  // namespace sonde::render
