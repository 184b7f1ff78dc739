// One authenticated libssh session to a target host: config, host key
// verification against known_hosts, and public key authentication. Exec
// channels for the agent and for deploy steps are opened on it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "libssh.h"
#include "sonde/common/result.h"
#include "sonde/common/subprocess.h"  // shell_quote
#include "ssh_target.h"

namespace sonde::controller {

class HandshakeGate;

struct SshOptions {
  std::string identity_file;  // -i: tried (with ssh-agent) instead of the default keys
  std::string config_file;    // -F: instead of ~/.ssh/config
  bool accept_new = false;    // record an unknown host key (never a changed one)
  long connect_timeout_ms = 10000;
  int verbosity = 0;
  // A fleet run's cap on handshakes in flight (handshake_gate.h); null: none.
  HandshakeGate* gate = nullptr;
};

struct ExecResult {
  int exit_status = -1;
  std::string out, err;
};

class SshConnection {
 public:
  static Result<std::unique_ptr<SshConnection>> open(const SshTarget& target,
                                                     const SshOptions& opts);
  ~SshConnection();
  SshConnection(const SshConnection&) = delete;
  SshConnection& operator=(const SshConnection&) = delete;

  ssh_session session() { return session_; }
  // user@host:port after config resolution
  const std::string& label() const { return label_; }

  // Opens a channel running `command` through the remote user's shell.
  Result<ssh_channel> open_exec(const std::string& command);
  // Runs a command to completion, feeding it stdin_data then EOF.
  Result<ExecResult> run(const std::string& command, std::string_view stdin_data, int timeout_ms);

  Error ssh_error(const std::string& what);
  // Gives back the handshake slot (SshOptions::gate) if this holds one.
  void release_gate();

 private:
  SshConnection() = default;
  Status connect(const SshTarget& target, const SshOptions& opts);
  Status verify_host_key(const SshOptions& opts);
  Status authenticate(const SshOptions& opts);

  ssh_session session_ = nullptr;
  std::string label_, host_, user_;
  int port_ = 22;
  HandshakeGate* gate_ = nullptr;  // the gate whose slot this holds
  std::string gate_key_;           // the jump host's ProxyCommand; "" direct
};

}  // namespace sonde::controller
