// Text for a fleet run's merged results: one table with a HOST column for
// the commands whose result is a table, and groups of hosts whose output was
// the same for the rest.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sonde/common/clock.h"
#include "sonde/common/hello_contract.h"
#include "sonde/jvm/list_contract.h"
#include "sonde/net/capture_contract.h"
#include "sonde/proc/inspect_contract.h"
#include "sonde/proc/ps_contract.h"
#include "sonde/profiler/fleet_profile.h"
#include "sonde/profiler/profile.h"
#include "sonde/ptrace/trace_contract.h"
#include "sonde/render/trace.h"

namespace sonde::render {

// Every host's processes in one table, HOST first, sorted across hosts by
// `sort` (cpu, mem or pid) as one host's would be; each host's "N more" is
// kept and summed.
std::string render_ps_fleet(const std::vector<std::pair<std::string, proc::PsResult>>& hosts,
                            const std::string& sort, int term_width = 0);

struct HelloRow {
  std::string host;
  Capabilities caps;
  std::optional<ClockOffset> clock;
};
// One line per host: agent, kernel, uid, ptrace, perf_event, capture, JDK,
// gdbserver, clock offset; hosts over kClockWarnNs off are named below.
std::string render_hello_fleet(const std::vector<HelloRow>& rows, int term_width = 0);

// One process per host (inspect --pgrep): pid, user, state, threads, fds,
// RSS, start and command line, HOST first.
std::string render_inspect_fleet(
    const std::vector<std::pair<std::string, proc::InspectResult>>& hosts, int term_width = 0);

// Every host's JVMs in one table, HOST first.
std::string render_jvm_list_fleet(
    const std::vector<std::pair<std::string, jvm::JvmListResult>>& hosts, int term_width = 0);

// Every host's `trace -c` counts in one strace -c table, summed over the
// hosts, with two more columns: how many of the `total_hosts` made the call
// (n/N), and the host that spent the most time in it, flagged `!` when it is an
// outlier (over 3x the median of the hosts that made it and 1 ms more, 3 hosts
// or more);
// the outliers are named under the table. by_host: one column of calls per
// host instead (the table a user pastes beside a ticket).
std::string render_trace_fleet(
    const std::vector<std::pair<std::string, ptrace::TraceResult>>& hosts, size_t total_hosts,
    bool by_host, int term_width = 0);

// Host names folded for a header, e.g. "web[01-40]" (fleet::compress_hosts).
using HostFolder = std::function<std::string(const std::vector<std::string>&)>;

// One host's trace events (the JSON lines of `trace --json`) and its clock.
struct HostEvents {
  std::string host;
  std::vector<json> events;
  std::optional<ClockOffset> clock;  // none: the host's own clock is shown
};
// Every host's trace in one stream, in time order on this machine's clock:
// each host's times moved by its clock offset, each host's own order kept,
// the line marked `~` when it is not known to come after the line above (a
// line of another host whose +/- interval overlaps). Hosts whose lines are
// all the same print once under their group instead.
std::string render_trace_fleet_events(const std::vector<HostEvents>& hosts,
                                      const TraceLineOptions& o, const HostFolder& fold);

// Every host's threads grouped by where they are (the same functions in the
// same modules, addresses aside), the place most hosts share first: "these
// 37 hosts are stuck in the same place", with a few of its threads named.
std::string render_stack_fleet(
    const std::vector<std::pair<std::string, profiler::StackDump>>& hosts, const HostFolder& fold);

// A fleet profile: one line per host (samples, share, lost, sampler, its
// hottest function), the busiest first, then the top_n functions of the merged
// profile with how many hosts sampled each (n/N).
std::string render_profile_fleet(const profiler::HostProfiles& hosts,
                                 const profiler::Profile& merged, size_t top_n,
                                 const HostFolder& fold);

// --diff-base: which sides were compared, then the functions whose share of
// self time changed most, base against the rest, each host weighed the same.
std::string render_profile_diff(const profiler::DiffSides& d, size_t top_n, const HostFolder& fold);

// A fleet capture: one line per host (packets, bytes, drops, flows, resets,
// retransmissions, its pcap), then the flows merged by server across hosts
// (how many hosts talked to it, flows, bytes, resets, retransmissions, the
// median RTT) and the DNS names by (name, type) with every host's rcodes and
// the distinct answers; top_n rows each. Flows and names are counted from
// what each host's summary lists (its top flows, its first DNS queries).
// The flows that were reset are then listed in time order on this machine's
// clock (each host's pcap times moved by its clock offset, +/- its bound);
// `~` marks one whose order against the line above is not known because
// their intervals overlap.
struct CaptureHost {
  std::string host;
  net::CaptureResult result;
  std::string file;                  // this host's pcap, "" when none was written
  std::optional<ClockOffset> clock;  // the host's; none: its own clock is used
};
std::string render_capture_fleet(const std::vector<CaptureHost>& hosts, size_t top_n);

// A group of hosts with the same output: its header line, e.g.
// "== web[01-40] (40 hosts) ==", then the text.
std::string render_host_group(const std::string& hosts, size_t count, const std::string& text);

}  // namespace sonde::render
