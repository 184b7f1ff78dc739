#include "sonde/jvm/options.h"

#include <cctype>
#include <set>

namespace sonde::jvm {
namespace {

bool starts_with(const std::string& s, std::string_view p) {
  return s.size() >= p.size() && std::string_view(s).substr(0, p.size()) == p;
}

std::optional<int> to_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > 65535) return std::nullopt;
  return v;
}

std::optional<bool> yes_no(std::string_view v) {
  if (v == "y" || v == "yes" || v == "true") return true;
  if (v == "n" || v == "no" || v == "false") return false;
  return std::nullopt;
}

// Launcher options whose value is the next argument (java --help).
const std::set<std::string>& options_with_value() {
  static const std::set<std::string> s = {"-cp",
                                          "-classpath",
                                          "--class-path",
                                          "-p",
                                          "--module-path",
                                          "--upgrade-module-path",
                                          "--add-modules",
                                          "--enable-native-access",
                                          "--limit-modules",
                                          "--add-reads",
                                          "--add-exports",
                                          "--add-opens",
                                          "--patch-module",
                                          "--source",
                                          "--describe-module",
                                          "-d"};
  return s;
}

}  // namespace

std::optional<unsigned long long> parse_java_size(const std::string& text) {
  if (text.empty()) return std::nullopt;
  unsigned long long v = 0;
  size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    if (v > (~0ull) / 10 - 10) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  if (i == text.size()) return v;
  if (i + 1 != text.size()) return std::nullopt;
  switch (std::tolower(static_cast<unsigned char>(text[i]))) {
    case 'k':
      return v << 10;
    case 'm':
      return v << 20;
    case 'g':
      return v << 30;
    case 't':
      return v << 40;
    default:
      return std::nullopt;
  }
}

JdwpAgent parse_jdwp_options(const std::string& spec) {
  JdwpAgent j;
  j.spec = spec;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string kv = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? spec.size() + 1 : comma + 1;
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (k == "transport")
      j.transport = v;
    else if (k == "server")
      j.server = yes_no(v).value_or(false);
    else if (k == "suspend")
      j.suspend = yes_no(v).value_or(true);
    else if (k == "address")
      j.address = v;
  }
  // address: "5005" (loopback on JDK 9+), "*:5005", "host:5005", "[::1]:5005".
  if (!j.address.empty()) {
    size_t colon = j.address.rfind(':');
    std::string port = colon == std::string::npos ? j.address : j.address.substr(colon + 1);
    if (auto p = to_port(port)) {
      j.port = *p;
      if (colon != std::string::npos) {
        j.host = j.address.substr(0, colon);
        if (j.host.size() >= 2 && j.host.front() == '[' && j.host.back() == ']')
          j.host = j.host.substr(1, j.host.size() - 2);
      }
    }
  }
  return j;
}

void apply_jvm_option(JvmOptions& o, const std::string& a) {
  if (starts_with(a, "-Xmx")) {
    o.xmx = a.substr(4);
    o.max_heap_bytes = parse_java_size(o.xmx);
  } else if (starts_with(a, "-Xms")) {
    o.xms = a.substr(4);
    o.initial_heap_bytes = parse_java_size(o.xms);
  } else if (starts_with(a, "-XX:MaxHeapSize=")) {
    o.xmx = a.substr(16);
    o.max_heap_bytes = parse_java_size(o.xmx);
  } else if (starts_with(a, "-XX:InitialHeapSize=")) {
    o.xms = a.substr(20);
    o.initial_heap_bytes = parse_java_size(o.xms);
  } else if (starts_with(a, "-agentlib:jdwp=")) {
    o.jdwp = parse_jdwp_options(a.substr(15));
  } else if (starts_with(a, "-Xrunjdwp:")) {
    o.jdwp = parse_jdwp_options(a.substr(10));
  } else if (starts_with(a, "-agentpath:") && a.find("libjdwp.so=") != std::string::npos) {
    o.jdwp = parse_jdwp_options(a.substr(a.find("libjdwp.so=") + 11));
  } else if (a == "-XX:+DisableAttachMechanism") {
    o.attach_disabled = true;
  } else if (a == "-XX:-DisableAttachMechanism") {
    o.attach_disabled = false;
  } else if (a == "-Xrs" || a == "-XX:+ReduceSignalUsage") {
    o.reduce_signals = true;
  } else if (starts_with(a, "-Dcom.sun.management.jmxremote")) {
    std::string rest = a.substr(30);
    size_t eq = rest.find('=');
    std::string key = rest.substr(0, eq), val = eq == std::string::npos ? "" : rest.substr(eq + 1);
    if (key.empty())
      o.jmx.enabled = true;
    else if (key == ".port") {
      o.jmx.enabled = true;
      o.jmx.port = to_port(val).value_or(0);
    } else if (key == ".rmi.port") {
      o.jmx.rmi_port = to_port(val).value_or(0);
    } else if (key == ".host") {
      o.jmx.host = val;
    } else if (key == ".authenticate") {
      o.jmx.authenticate = yes_no(val);
    } else if (key == ".ssl") {
      o.jmx.ssl = yes_no(val);
    }
  }
}

void apply_jvm_option_string(JvmOptions& o, const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    size_t end = pos;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    if (end > pos) apply_jvm_option(o, text.substr(pos, end - pos));
    pos = end;
  }
}

JvmOptions parse_java_command_line(const std::vector<std::string>& argv) {
  JvmOptions o;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-jar" && i + 1 < argv.size()) {
      o.main = argv[i + 1];
      o.main_kind = "jar";
      o.app_args.assign(argv.begin() + static_cast<long>(i) + 2, argv.end());
      return o;
    }
    if ((a == "-m" || a == "--module") && i + 1 < argv.size()) {
      o.main = argv[i + 1];
      o.main_kind = "module";
      o.app_args.assign(argv.begin() + static_cast<long>(i) + 2, argv.end());
      return o;
    }
    if (starts_with(a, "--module=")) {
      o.main = a.substr(9);
      o.main_kind = "module";
      o.app_args.assign(argv.begin() + static_cast<long>(i) + 1, argv.end());
      return o;
    }
    if (options_with_value().count(a)) {
      o.jvm_args.push_back(a);
      if (i + 1 < argv.size()) o.jvm_args.push_back(argv[++i]);
      continue;
    }
    if (!a.empty() && a[0] == '-') {
      o.jvm_args.push_back(a);
      apply_jvm_option(o, a);
      continue;
    }
    if (!a.empty() && a[0] == '@') {  // an argument file: its options are not visible here
      o.jvm_args.push_back(a);
      continue;
    }
    o.main = a;
    o.main_kind = a.size() > 5 && a.substr(a.size() - 5) == ".java" ? "source" : "class";
    o.app_args.assign(argv.begin() + static_cast<long>(i) + 1, argv.end());
    return o;
  }
  return o;
}

}  // namespace sonde::jvm
