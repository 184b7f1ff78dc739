// The SSH connection this agent was started over, which sonde never
// captures or disturbs (capture leaves it out, network faults accept it).
#pragma once

#include <string>

namespace sonde::agent {

// SSH_CONNECTION ("client_ip client_port server_ip server_port") from our
// environment or, when sudo dropped it, from the nearest ancestor's (sshd's
// session shell has it); "" when the agent is not under SSH.
std::string ssh_connection();

}  // namespace sonde::agent
