// Address → function, source line and inline chain, with libdwfl. One
// module per build-id (so the cache outlives a process and is shared by
// processes that map the same library); each address is looked up once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sonde/profiler/profile.h"

namespace sonde::profiler {

struct ModuleRef {
  std::string path;      // file to open (may be /proc/PID/root/..., /proc/self/fd/N)
  std::string name;      // what frames show as their module (the path the target maps)
  std::string build_id;  // lowercase hex, "" when the ELF has none (then path keys the cache)
};

struct SymbolizerStats {
  uint64_t modules = 0;  // ELF files opened
  uint64_t lookups = 0;  // symbolize() calls
  uint64_t cache_hits = 0;
  uint64_t debug_cache_hits = 0;     // files read from their uncompressed copy
  uint64_t debug_cache_written = 0;  // uncompressed copies made
  uint64_t results_loaded = 0;       // addresses answered by an earlier run's results
};

// Where the agent keeps uncompressed copies of debug files whose sections
// are compressed, and the results of symbolizing with DWARF (per build-id,
// so a second `sonde stack` of the same program opens no DWARF at all): $SONDE_CACHE_DIR/debug,
// else $XDG_CACHE_HOME/sonde/debug, else ~/.cache/sonde/debug; "" (no cache) when
// SONDE_DEBUG_CACHE=off.
std::string default_debug_cache_dir();

class Symbolizer {
 public:
  // debug_cache_dir: where uncompressed copies of compressed debug files
  // and earlier results are kept by build-id (bounded in size, never
  // filling the disk); "" for none. libdw otherwise inflates whole sections
  // (all of libc's DWARF) in every process that symbolizes.
  explicit Symbolizer(std::string debug_cache_dir = "");
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // Frames for one code address, innermost inline frame first, the real
  // function last (so size() > 1 means inlining; all but the last have
  // inlined = true). `elf_vaddr` is in the ELF's own vaddr space. Return
  // addresses (every frame but the leaf) pass is_return: lookup uses vaddr-1
  // so a call at a function's end is not charged to the next function.
  // Fills kind, function (demangled), module (= m.name), rel, sym_offset,
  // file, line, inlined; the caller sets address. Never fails: an unreadable
  // module or unknown address gives one frame with an empty function.
  std::vector<Frame> symbolize(const ModuleRef& m, uint64_t elf_vaddr, bool is_return);

  // One note per module that had no symbols or no debug info, with the hint
  // (e.g. "no debug info for /usr/bin/x (build-id ab12…): install its -dbgsym
  // package or set DEBUGINFOD_URLS"); each note is given once.
  std::vector<std::string> take_notes();
  SymbolizerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sonde::profiler
