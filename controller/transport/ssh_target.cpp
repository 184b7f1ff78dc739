#include "ssh_target.h"

#include <algorithm>
#include <cctype>

namespace sonde::controller {
namespace {

// The spec as typed, with control characters and bytes that are not ASCII
// shown as \xHH, so the error message itself is safe on a terminal and in JSON.
std::string printable(const std::string& s) {
  std::string out;
  for (char ch : s) {
    auto b = static_cast<unsigned char>(ch);
    if (b < 0x20 || b >= 0x7f)
      out += fmt::format("\\x{:02x}", b);
    else
      out += ch;
  }
  return out;
}

// ASCII only, whatever the locale says about other bytes.
bool name_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '.' || ch == '-' || ch == '_';
}

// libssh puts the host (%h) and user (%r) into ProxyCommand/ProxyJump from
// ~/.ssh/config and hands that line to a shell: a typed name must not carry
// shell syntax. Hosts: a DNS name, an alias, an IPv4 or IPv6 literal (with a
// %zone); users: the portable user name characters, plus '@' for domain logins.
bool valid_host(const std::string& h) {
  if (h.empty() || h.size() > 253 || h[0] == '-') return false;
  bool v6 = h.find(':') != std::string::npos;
  size_t zone = v6 ? h.find('%') : std::string::npos;
  for (size_t i = 0; i < h.size(); ++i) {
    char ch = h[i];
    if (name_char(ch)) continue;
    if (v6 && ch == ':' && i < zone) continue;
    if (i == zone && i + 1 < h.size()) continue;
    return false;
  }
  return true;
}

bool valid_user(const std::string& u) {
  if (u.empty() || u.size() > 256 || u[0] == '-') return false;
  return std::all_of(u.begin(), u.end(), [](char ch) { return name_char(ch) || ch == '@'; });
}

}  // namespace

Result<SshTarget> parse_ssh_target(const std::string& spec_in) {
  std::string spec = spec_in;
  auto bad = [&](const std::string& why) {
    return Error{errc::kBadArgs, "bad target `" + printable(spec_in) + "`: " + why,
                 "use local, [user@]host[:port] or ssh://[user@]host[:port]"};
  };
  if (spec.rfind("ssh://", 0) == 0) {
    spec = spec.substr(6);
    if (!spec.empty() && spec.back() == '/') spec.pop_back();
  } else if (spec.find("://") != std::string::npos) {
    return bad("unknown scheme");
  }
  SshTarget t;
  if (auto at = spec.rfind('@'); at != std::string::npos) {
    t.user = spec.substr(0, at);
    spec = spec.substr(at + 1);
    if (t.user.empty()) return bad("empty user");
  }
  std::string port;
  if (!spec.empty() && spec[0] == '[') {
    auto close = spec.find(']');
    if (close == std::string::npos) return bad("unclosed [");
    t.host = spec.substr(1, close - 1);
    std::string rest = spec.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("junk after ]");
      port = rest.substr(1);
    }
  } else if (std::count(spec.begin(), spec.end(), ':') == 1) {
    auto c = spec.find(':');
    t.host = spec.substr(0, c);
    port = spec.substr(c + 1);
  } else {
    t.host = spec;  // no port, or a bare IPv6 address
  }
  if (t.host.empty()) return bad("empty host");
  if (!valid_host(t.host))
    return Error{errc::kBadArgs,
                 "bad target `" + printable(spec_in) +
                     "`: the host name may hold only letters, digits, '.', '-', '_' (and ':' "
                     "in an IPv6 address)",
                 "refused before any ssh config ProxyCommand sees it; for an unusual name add "
                 "a Host alias with HostName to ~/.ssh/config and use the alias"};
  if (!t.user.empty() && !valid_user(t.user))
    return Error{errc::kBadArgs,
                 "bad target `" + printable(spec_in) +
                     "`: the user name may hold only letters, digits, '.', '-', '_' and '@'",
                 "refused before any ssh config ProxyCommand sees it; for another name set "
                 "User in a Host entry of ~/.ssh/config"};
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit))
      return bad("port must be a number");
    t.port = std::stoi(port);
    if (t.port < 1 || t.port > 65535) return bad("port out of range");
  } else if (spec_in.back() == ':') {
    return bad("empty port");
  }
  return t;
}

}  // namespace sonde::controller
