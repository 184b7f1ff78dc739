// `sonde inject`'s network faults: delay, jitter, loss, rate, duplicate and
// reorder (tc) and reset and blackhole (nftables) on a host, scoped to a
// process's network namespace, a peer or a port; and --list / --clear of
// the injections on a host. inject.cpp owns the command (and -p,
// --duration, --plan, --force, which both kinds of fault use) and hands
// over here when wants_net_inject() says so.
//
// The agent ops (net/netfault.h has the structs):
//   inject_net   NetFaultArgs -> NetFaultResult, after one
//                {phase: "applied", ...NetFaultResult} event
//   inject_list  {pid, netns} (optional scope) -> {injections [..], notes}
//   inject_clear {pid, netns} (optional scope) -> {removed [..], notes}
#pragma once

#include "../cli/command.h"

namespace sonde::controller {

// --delay --jitter --loss --rate --duplicate --reorder --reset --blackhole
// --peer --port --netns --dev --list --clear. --peer and --port also narrow
// syscall faults (inject.cpp reads them); -p, --duration, --plan and
// --force are declared by inject.cpp and read from vm here.
void add_net_inject_options(po::options_description& o);
// A network fault flag, --netns, --dev, --list or --clear is given (--peer
// and --port alone are not: syscall faults take them too).
bool wants_net_inject(const po::variables_map& vm);
// Builds NetFaultArgs from ctx.vm and runs inject_net (or inject_list /
// inject_clear): a human summary, or with --json the result. Exit codes as
// every command's; 130 when Ctrl-C ended the fault early.
int run_net_inject(CommandContext& ctx);

}  // namespace sonde::controller
