// Small questions about hosts that several checks ask.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sonde::net {

// A numeric IPv4 or IPv6 address (no brackets, no port), not a name.
bool is_ip_address(const std::string& s);

// "host:port", the host in brackets when it is an IPv6 address: "[::1]:22".
std::string host_port(const std::string& host, int port);

// This host's name (gethostname), the "host" every net result carries.
std::string local_hostname();

// The SSH connection an agent runs over, from SSH_CONNECTION
// ("client_ip client_port server_ip server_port"). An IPv4-mapped address
// is given as plain IPv4. Nullopt unless all four parts are addresses and
// ports 1..65535: the parts go into capture filters and nft rules.
struct SshConnection {
  std::string client_ip;
  int client_port = 0;
  std::string server_ip;
  int server_port = 0;
};
std::optional<SshConnection> parse_ssh_connection(std::string_view text);

}  // namespace sonde::net
