// Small questions about hosts that several checks ask.
#pragma once

#include <string>

namespace sonde::net {

// A numeric IPv4 or IPv6 address (no brackets, no port), not a name.
bool is_ip_address(const std::string& s);

// "host:port", the host in brackets when it is an IPv6 address: "[::1]:22".
std::string host_port(const std::string& host, int port);

// This host's name (gethostname), the "host" every net result carries.
std::string local_hostname();

}  // namespace sonde::net
