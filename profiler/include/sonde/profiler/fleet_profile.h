// Profiles of many hosts as one: a fleet run's merged flame graph, and the
// two sides of a differential one (--diff-base).
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sonde/profiler/profile.h"

namespace sonde::profiler {

using HostProfiles = std::vector<std::pair<std::string, Profile>>;

// Every host's stacks in one profile. Threads of one name on one host are one
// thread (tid 0), labelled with the host (ThreadInfo::host), so the exporters
// can put the host first: a root frame in the flame graph, a folded prefix, a
// pprof label. Frames are each host's own (addresses differ per host).
// mode, hz and sampler are the hosts' when they agree, else "mixed" (hz 0);
// samples and lost are summed, and each host's notes are kept, host first.
Profile merge_host_profiles(const HostProfiles& hosts);

// --diff-base: the hosts named in `base` against the others, each host
// normalized to the same weight first (a busy host does not outvote an idle
// one): each side is the mean of its hosts' shares, scaled to kDiffScale
// samples (large, so a single sample of a busy host among 1000 still
// counts), and carries no host labels, so both fold to the same threads.
constexpr uint64_t kDiffScale = 1'000'000'000;
struct DiffSides {
  Profile base, target;
  std::vector<std::string> base_hosts, target_hosts;  // hosts with samples
};
DiffSides diff_sides(const HostProfiles& hosts, const std::set<std::string>& base);

}  // namespace sonde::profiler
