// Uncompressed copies of ELF files whose debug sections are compressed
// (SHF_COMPRESSED, zlib or zstd), kept by build-id in a cache directory.
//
// Distributions ship debug files compressed (libc6-dbg: 4 MB on disk, 10 MB
// inflated). libdw inflates every compressed section whole on first use, and
// the agent is a fresh process for each command, so without this every
// `sonde stack` would spend tens of milliseconds in zlib for the same libc.
// The copy is made once per build-id per host; later opens map it directly.
//
// Bounded: a file larger than max_file is not cached, the directory is kept
// under max_total (oldest first out), and nothing is written when the file
// system would be left with less than min_free_percent or min_free_bytes.
#pragma once

#include <cstdint>
#include <string>

#include "sonde/common/fd.h"

namespace sonde::profiler {

struct DebugCacheLimits {
  uint64_t max_file = uint64_t{512} << 20;
  uint64_t max_total = uint64_t{1} << 30;
  uint64_t min_free_bytes = uint64_t{2} << 30;
  unsigned min_free_percent = 10;
};

struct DebugCacheStats {
  uint64_t hits = 0;     // served from an existing copy
  uint64_t written = 0;  // copies made
  uint64_t skipped = 0;  // compressed but not cached (limits, errors)
};

class DebugCache {
 public:
  // An empty dir disables the cache.
  explicit DebugCache(std::string dir, DebugCacheLimits limits = {});

  bool enabled() const { return !dir_.empty(); }

  // For an ELF open at fd with this build-id: an fd of its uncompressed
  // copy (made now if needed and allowed) and its path in *path, or an
  // invalid fd when the file has no compressed section or cannot be cached
  // (the caller goes on with the original). Never fails loudly: a cache
  // that cannot be written is a slower run, not an error.
  ScopedFd uncompressed(int fd, const std::string& build_id, std::string* path);

  // Symbolization results kept across runs, one file per build-id beside
  // the copies: lines of JSON appended by each run, read whole by the next.
  // Only results computed with DWARF are kept (installing a debug package
  // later cannot improve them: a build-id has one debug file). "" when the
  // cache is off or the id is unusable.
  std::string results_path(const std::string& build_id) const;
  // Appends lines (each ending in '\n') with one write; a file already over
  // max_results is left as it is.
  void append_results(const std::string& build_id, const std::string& lines);
  static constexpr uint64_t kMaxResultsFile = uint64_t{8} << 20;

  const DebugCacheStats& stats() const { return stats_; }

  // The default place: $SONDE_CACHE_DIR/debug, $XDG_CACHE_HOME/sonde/debug,
  // or ~/.cache/sonde/debug (the agent's own cache on a target); "" when
  // SONDE_DEBUG_CACHE=off or no home is known.
  static std::string default_dir();

 private:
  std::string dir_;
  DebugCacheLimits limits_;
  DebugCacheStats stats_;
};

// Exposed for tests: whether the ELF at fd has an SHF_COMPRESSED section,
// and writing its uncompressed image to out_fd (error text, "" when done).
bool elf_has_compressed_sections(int fd);
std::string write_uncompressed_elf(int in_fd, int out_fd, uint64_t max_out);

}  // namespace sonde::profiler
