#include <arpa/inet.h>

#include <sstream>

#include "sonde/net/capture.h"

namespace sonde::net {
namespace {

std::string valid_ip(std::string ip) {
  if (ip.rfind("::ffff:", 0) == 0 && ip.find('.') != std::string::npos) ip = ip.substr(7);
  unsigned char buf[16];
  if (::inet_pton(AF_INET, ip.c_str(), buf) == 1 || ::inet_pton(AF_INET6, ip.c_str(), buf) == 1)
    return ip;
  return "";
}

}  // namespace

std::optional<SshExclusion> ssh_exclusion(std::string_view ssh_connection) {
  std::istringstream in{std::string(ssh_connection)};
  std::string cip, cport, sip, sport;
  if (!(in >> cip >> cport >> sip >> sport)) return std::nullopt;
  cip = valid_ip(cip);
  sip = valid_ip(sip);
  auto port_ok = [](const std::string& p) {
    return !p.empty() && p.size() <= 5 && p.find_first_not_of("0123456789") == std::string::npos &&
           std::stol(p) > 0 && std::stol(p) < 65536;
  };
  if (cip.empty() || sip.empty() || !port_ok(cport) || !port_ok(sport)) return std::nullopt;
  auto ep = [](const std::string& ip, const std::string& port) {
    return ip.find(':') != std::string::npos ? "[" + ip + "]:" + port : ip + ":" + port;
  };
  SshExclusion x;
  x.client = ep(cip, cport);
  x.server = ep(sip, sport);
  x.filter =
      fmt::format("not (host {} and port {} and host {} and port {})", cip, cport, sip, sport);
  return x;
}

}  // namespace sonde::net
