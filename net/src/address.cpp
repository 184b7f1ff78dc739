#include "sonde/net/address.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <unistd.h>

#include <sstream>

namespace sonde::net {

bool is_ip_address(const std::string& s) {
  unsigned char b[16];
  return inet_pton(AF_INET, s.c_str(), b) == 1 || inet_pton(AF_INET6, s.c_str(), b) == 1;
}

std::string host_port(const std::string& host, int port) {
  // fmt, not `"[" + host`: GCC 12 -O3's false -Wrestrict (bug 105651).
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

namespace {

std::string ssh_ip(std::string ip) {
  if (ip.rfind("::ffff:", 0) == 0 && ip.find('.') != std::string::npos) ip = ip.substr(7);
  return is_ip_address(ip) ? ip : "";
}

// A port 1..65535 in decimal digits, else 0.
int ssh_port(const std::string& p) {
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return 0;
  int n = std::stoi(p);
  return n < 65536 ? n : 0;
}

}  // namespace

std::optional<SshConnection> parse_ssh_connection(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string cip, cport, sip, sport;
  if (!(in >> cip >> cport >> sip >> sport)) return std::nullopt;
  SshConnection c{ssh_ip(cip), ssh_port(cport), ssh_ip(sip), ssh_port(sport)};
  if (c.client_ip.empty() || c.server_ip.empty() || c.client_port == 0 || c.server_port == 0)
    return std::nullopt;
  return c;
}

std::string local_hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace sonde::net
