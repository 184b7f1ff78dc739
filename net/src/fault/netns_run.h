// Running tc, nft and ip inside a network namespace: fork, setns to the
// namespace's fd (checked against the identity the caller holds, so a
// recycled pid or a recreated name is never entered), exec. The agent is
// multi-threaded: between fork and exec the child makes syscalls only.
#pragma once

#include <string>
#include <vector>

#include "sonde/common/result.h"
#include "sonde/net/fault_host.h"

namespace sonde::net::fault {

struct ToolRun {
  int exit_code = -1;  // -1: killed (timed out)
  std::string out, err;
  bool ok() const { return exit_code == 0; }
  // stderr's first line, or "exit N": for messages.
  std::string why() const;
};

// Runs `tool` (tc, nft, ip: found in PATH, then /usr/sbin and /sbin) with
// args inside ns, `input` on its stdin, bounded by timeout_ms. The tool
// dies with the thread that started it (PR_SET_PDEATHSIG) and holds
// `hold_fd` open (a RecordLock's) while it runs. Errors are for what kept
// it from running: the tool is missing, the namespace is gone or is another
// one now (not_found), setns was refused (permission).
Result<ToolRun> run_tool(const NetnsRef& ns, const std::string& tool,
                         const std::vector<std::string>& args, const std::string& input = {},
                         int timeout_ms = 5000, int hold_fd = -1);

// The path of a namespace with ns's identity: ns.path while it still is
// that namespace, else any /run/netns entry or process that holds it.
// Nullopt when no process and no name holds it any more (it is gone, and
// what was in it with it).
std::optional<std::string> find_netns(const NetnsRef& ns);

}  // namespace sonde::net::fault
