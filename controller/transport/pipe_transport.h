// Transports over a child process's stdin/stdout: `local` (the agent itself)
// and `--via CMD` (a command that connects stdio to a remote agent).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sonde/common/subprocess.h"
#include "transport.h"

namespace sonde::controller {

class PipeTransport : public Transport {
 public:
  // local_target: the agent runs on this machine (`local`, not --via), so
  // port forwards connect from here directly.
  PipeTransport(Child child, std::string label, bool relay_stderr, bool local_target = false);
  ~PipeTransport() override;
  Status write(std::string_view data) override;
  Result<ReadResult> read(char* buf, size_t len, int timeout_ms) override;
  void close() override;
  std::string describe() const override { return label_; }
  Error explain_eof() override;
  bool forwards_directly() const override { return local_; }

 private:
  void drain_stderr();
  Child child_;
  std::string label_;
  bool relay_;
  bool local_;
  StderrTail tail_;
};

// Spawns `agent_path serve` on this machine (through `sudo -n` with sudo).
Result<std::unique_ptr<Transport>> open_local(const std::string& agent_path, bool sudo,
                                              int verbosity);

// This machine without an agent: what `sonde forward local` needs.
std::unique_ptr<Transport> open_local_link();

// Runs `/bin/sh -c CMD`; CMD must end up running `sonde-agent serve`.
Result<std::unique_ptr<Transport>> open_via(const std::string& command, int verbosity);

}  // namespace sonde::controller
