#include <sstream>

#include "sonde/net/address.h"
#include "sonde/net/capture.h"

namespace sonde::net {
namespace {

std::string valid_ip(std::string ip) {
  if (ip.rfind("::ffff:", 0) == 0 && ip.find('.') != std::string::npos) ip = ip.substr(7);
  return is_ip_address(ip) ? ip : "";
}

// A port 1..65535 in decimal digits, else 0.
int valid_port(const std::string& p) {
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return 0;
  int n = std::stoi(p);
  return n < 65536 ? n : 0;
}

}  // namespace

std::optional<SshExclusion> ssh_exclusion(std::string_view ssh_connection) {
  std::istringstream in{std::string(ssh_connection)};
  std::string cip, cport_text, sip, sport_text;
  if (!(in >> cip >> cport_text >> sip >> sport_text)) return std::nullopt;
  cip = valid_ip(cip);
  sip = valid_ip(sip);
  int cport = valid_port(cport_text), sport = valid_port(sport_text);
  if (cip.empty() || sip.empty() || cport == 0 || sport == 0) return std::nullopt;
  SshExclusion x;
  x.client = host_port(cip, cport);
  x.server = host_port(sip, sport);
  x.filter =
      fmt::format("not (host {} and port {} and host {} and port {})", cip, cport, sip, sport);
  return x;
}

}  // namespace sonde::net
