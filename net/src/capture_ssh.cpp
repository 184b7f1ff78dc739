#include "sonde/net/address.h"
#include "sonde/net/capture.h"

namespace sonde::net {

std::optional<SshExclusion> ssh_exclusion(std::string_view ssh_connection) {
  auto c = parse_ssh_connection(ssh_connection);
  if (!c) return std::nullopt;
  SshExclusion x;
  x.client = host_port(c->client_ip, c->client_port);
  x.server = host_port(c->server_ip, c->server_port);
  x.filter = fmt::format("not (host {} and port {} and host {} and port {})", c->client_ip,
                         c->client_port, c->server_ip, c->server_port);
  return x;
}

}  // namespace sonde::net
