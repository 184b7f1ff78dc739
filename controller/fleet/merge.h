// Per-command mergers: from each finished host's typed result to one fleet
// view (a table with a HOST column, ...). Commands without one have their
// text output grouped by identical content instead.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fleet/run.h"

namespace sonde::controller::fleet {

// The command, with these options, has a merger: a fleet run asks every host
// for its JSON result (trace only with -c: its events stay per host).
bool has_merger(const std::string& command, const po::variables_map& vm);

// The command's -o names one merged file (profile's flame graph), written by
// its merger, rather than a file per host.
bool merges_output(const std::string& command);

// The merged text of the hosts that succeeded (of total_hosts); nullopt when
// the command has no merger or its results are not JSON (a trace without -c).
// A host whose result does not read is left out and named in *skipped.
std::optional<std::string> merge_text(const std::string& command,
                                      const std::vector<const HostRecord*>& ok, size_t total_hosts,
                                      CommandContext& ctx, std::vector<std::string>* skipped);

}  // namespace sonde::controller::fleet
