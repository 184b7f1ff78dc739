#include "ssh_target.h"

#include <algorithm>
#include <cctype>

namespace sonde::controller {

Result<SshTarget> parse_ssh_target(const std::string& spec_in) {
  std::string spec = spec_in;
  auto bad = [&](const std::string& why) {
    return Error{errc::kBadArgs, "bad target `" + spec_in + "`: " + why,
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
  for (char ch : t.host)
    if (std::isspace(static_cast<unsigned char>(ch)) || ch == '/' || ch == '@')
      return bad("invalid character in host");
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
