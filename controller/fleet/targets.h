// Fleet targets: what `sonde CMD TARGETS` runs on when TARGETS names more than
// one host. A comma list, ranges (`web[01-40]`, `db[1,3,5]`), `@FILE` (one
// target per line, # comments), and hosts or groups of an Ansible inventory
// (inventory.h), minus `-x` exclusions. Every list is bounded: a pattern that
// would expand past kMaxTargets is an error with a hint, never an allocation
// the size of a typo.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sonde/common/result.h"

namespace sonde::controller::fleet {

class Inventory;

// The most hosts one run takes.
constexpr size_t kMaxTargets = 100000;

// One host of a fleet run.
struct FleetTarget {
  std::string name;     // as listed or as the inventory names it: the HOST column
  std::string connect;  // what the transport gets: [user@]host[:port], or "local"
  std::string via;      // when set, the agent is reached by this command (--k8s)
};

// `web[01-40]` gives web01..web40 (the width of the first bound, when it has a
// leading zero, pads them all); `db[1,3,5]` gives db1 db3 db5; `[1-3,7]` mixes
// both; several brackets multiply. Ansible's `[01:40]` is read the same way.
// A bracket that holds anything but digits, '-', ':' and ',' stays as it is:
// `[::1]:22` is an IPv6 address, not a range.
Result<std::vector<std::string>> expand_range(std::string_view pattern);

// TARGETS as typed: a comma list (commas inside brackets belong to the
// range), each item a range pattern or @FILE. Duplicates are dropped, first
// one kept; an empty list is an error.
Result<std::vector<std::string>> expand_target_list(std::string_view arg);

// The run's targets: each item of `arg` is a host, range or @FILE, or, with an
// inventory, a pattern over it (see Inventory::select). `exclude` (-x, each a
// comma list of hosts, ranges or groups) removes hosts by name.
Result<std::vector<FleetTarget>> resolve_targets(std::string_view arg, const Inventory* inventory,
                                                 const std::vector<std::string>& exclude);

// The inverse of expand_range, for showing a group of hosts: names that
// differ only in a trailing number of the same width fold into one range,
// `web01 web02 web03 web07` -> `web[01-03,07]`; the rest stay as they are.
// In the order each folded name first appears.
std::string compress_hosts(const std::vector<std::string>& names);

// `--via` for many hosts: "{host}" in the template becomes the target's name.
// A template without "{host}" is the same jump host for all.
std::string apply_via_template(std::string_view tpl, std::string_view host);

}  // namespace sonde::controller::fleet
