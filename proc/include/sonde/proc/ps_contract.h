// The `ps` op's contract: PsArgs (filters, sort, the %CPU interval) and
// PsResult (the process table), one JSON form each, used by the command,
// the handler and list_processes. validate() is the one judge of a request.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::proc {

inline constexpr long kMaxPsIntervalMs = 60000;

struct PsArgs {
  std::string user;          // name or numeric uid, "" = all
  std::string name;          // regex on comm and the command line, "" = all
  std::string sort = "cpu";  // cpu | mem | pid
  long interval_ms = 100;    // 0: lifetime average, like ps aux
  long limit = 0;            // 0: all
  // Leave out sonde's own processes (the agent answering, and any process
  // named sonde or sonde-agent): `ps --name X` is not about the controller
  // whose command line holds X.
  bool hide_sonde = false;
};

json to_json(const PsArgs& a);
// Wrong types are errc::kBadArgs naming the field.
Result<PsArgs> ps_args_from_json(const json& j);
// Interval, limit and sort key: errc::kBadArgs with a hint. The regex and
// the user are checked where they are used (the agent's user table).
Status validate(const PsArgs& a);

struct PsRow {
  int pid = 0;
  int ppid = 0;
  std::string user;  // "?" when the uid has no name
  long long uid = -1;
  char state = '?';
  double cpu_pct = 0;
  uint64_t rss_kb = 0;
  double mem_pct = 0;
  long long threads = 0;
  long long start_time = 0;  // epoch seconds
  std::string comm;
  std::string cmdline;
  uint64_t cmdline_more_bytes = 0;  // left out of cmdline
};

struct PsResult {
  long interval_ms = 0;
  std::string cpu_source;  // lifetime | schedstat | stat
  uint64_t total = 0;      // processes on the host
  uint64_t shown = 0;
  uint64_t more = 0;          // left out to keep the answer bounded
  uint64_t cmdlines_cut = 0;  // rows whose cmdline was cut
  uint64_t mem_total_kb = 0;
  uint64_t sonde_hidden = 0;  // sonde's own processes left out (PsArgs::hide_sonde)
  std::vector<PsRow> processes;
};

json to_json(const PsRow& r);
json to_json(const PsResult& r);
// Strict: errc::kProtocol naming the field, with the agent mismatch hint.
Result<PsResult> ps_result_from_json(const json& j);

}  // namespace sonde::proc
