// `ps`: every process of the host with its CPU share over a short interval.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sonde/common/cancel.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/proc/ps_contract.h"

namespace sonde::proc {

struct PsOptions {
  std::string user;          // name or numeric uid, empty = all
  std::string name_regex;    // ECMAScript regex matched against comm and the cmdline, empty = all
  std::string sort = "cpu";  // cpu|mem|pid
  long interval_ms = 100;    // 0 = lifetime average like ps aux
  size_t limit = 0;          // 0 = no limit
  // Leave out this process and those named sonde or sonde-agent, counted in
  // PsResult::sonde_hidden.
  bool hide_sonde = false;
  // What the process rows may weigh on the wire; rows past it are left out
  // and counted in "more" (the least busy ones: rows are sorted first).
  size_t budget_bytes = kResultBudgetBytes - (64u << 10);
};

// How much of each command line ps shows. A JVM's can be hundreds of KB (a
// classpath); the rest is counted: "… (N more bytes)", and in
// "cmdline_more_bytes" of the row.
inline constexpr size_t kCmdlineShownBytes = 4096;

// Bad options (bad regex, unknown sort, unknown user) -> Error with code
// errc::kBadArgs and a hint. Returns errc::kCancelled if the token is
// cancelled during the interval.
Result<PsResult> list_processes(const PsOptions& opts, CancelToken& cancel);

// The command line as ps shows it: argv joined by spaces, "[comm]" for kernel
// threads and others without one. `raw` is the NUL-separated cmdline file.
std::string display_cmdline(std::string_view raw, const std::string& comm, char state);

}  // namespace sonde::proc
