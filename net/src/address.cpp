#include "sonde/net/address.h"

#include <arpa/inet.h>
#include <unistd.h>

namespace sonde::net {

bool is_ip_address(const std::string& s) {
  unsigned char b[16];
  return inet_pton(AF_INET, s.c_str(), b) == 1 || inet_pton(AF_INET6, s.c_str(), b) == 1;
}

std::string local_hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace sonde::net
