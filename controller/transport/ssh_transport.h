// The agent over an SSH exec channel, and the deploy step that puts a
// content-addressed copy of our agent on the target when it is missing.
#pragma once

#include <memory>
#include <string>

#include "ssh_connection.h"
#include "transport.h"

namespace sonde::controller {

struct DeployOptions {
  std::string agent_path;  // the local agent binary to upload
  std::string remote_dir;  // where agents live on the target; empty: ~/.cache/sonde
  bool sudo = false;       // run the agent through `sudo -n`
  int verbosity = 0;
};

// Connects, deploys the agent if the target lacks this exact build, and
// starts `agent serve` on an exec channel.
Result<std::unique_ptr<Transport>> open_ssh(const SshTarget& target, const SshOptions& ssh,
                                            const DeployOptions& deploy);

// Connects and authenticates only: no agent is deployed or started. For
// port forwards, which sshd serves on its own.
Result<std::unique_ptr<Transport>> open_ssh_link(const SshTarget& target, const SshOptions& ssh);

}  // namespace sonde::controller
