// sonde's own debuginfod client: it runs `debuginfod-find` as a child. The
// agent is linked statically, where libdw's client (a dlopen of
// libdebuginfod.so) cannot work, so the symbolizer never lets libdw reach
// its client and asks here instead.
#pragma once

#include <map>
#include <string>

#include "sonde/common/result.h"

namespace sonde::profiler {

inline constexpr int kDebuginfodTimeoutMs = 30000;

// Runs `debuginfod-find debuginfo BUILD_ID` and waits at most timeout_ms.
// Ok: the path of the local copy it printed. Errors (message: the tool's
// own reason): not_found when the servers answered that they do not have
// it, connect when they could not be asked, timeout, and not_found with
// errno ENOENT (hint "apt-get install debuginfod") when the program is
// missing.
Result<std::string> debuginfod_find_debuginfo(const std::string& build_id, int timeout_ms);

// After a failure that would repeat for every build-id (debuginfod-find
// missing, servers unreachable, a fetch that timed out), how long nothing is
// asked: the agent's symbolizer lives as long as its session.
inline constexpr long kDebuginfodRetryMs = 5 * 60 * 1000;

// Asks each build-id once and remembers the answer when the servers gave
// one ("have it" or "do not"); stops asking for a while after a failure
// that is not about the build-id.
class DebuginfodClient {
 public:
  // Reads DEBUGINFOD_URLS now: an empty or unset variable disables fetching.
  explicit DebuginfodClient(int timeout_ms = kDebuginfodTimeoutMs);

  // DEBUGINFOD_URLS names a server and no recent failure stopped asking.
  bool enabled() const;
  bool configured() const { return configured_; }

  // Path of the debug file for build_id (lowercase hex), "" when there is
  // none. why_not (optional) gets the reason for "".
  std::string find(const std::string& build_id, std::string* why_not = nullptr);

  // The failure that stopped all fetching, with its hint; given once.
  std::string take_problem();

 private:
  struct Answer {
    std::string path;
    std::string why_not;
  };
  int timeout_ms_;
  bool configured_ = false;
  std::string problem_;
  long problem_since_ms_ = 0;
  bool problem_taken_ = false;
  std::map<std::string, Answer> answers_;
};

// A build-id as it may go on argv or into a path: 1 to 64 bytes of
// lowercase hex (it comes from a target's ELF, so nothing else passes).
bool valid_build_id(const std::string& id);

}  // namespace sonde::profiler
