#include "sonde/net/address.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <unistd.h>

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

std::string local_hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace sonde::net
