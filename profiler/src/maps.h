// A process's address space as the profiler needs it: which module covers an
// address, where that module's ELF vaddr 0 is (the load bias), and the bytes
// of file-backed code and unwind tables, read from the files rather than the
// target. Built from /proc/PID/maps; reread when an address misses (dlopen).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "elf_image.h"
#include "sonde/common/result.h"
#include "sonde/proc/maps.h"
#include "sonde/profiler/symbolizer.h"

namespace sonde::profiler {

// One line of /proc/PID/maps; parsed by the proc library.
using Mapping = proc::MapEntry;
using proc::parse_maps;

struct Module {
  ModuleRef ref;  // for the symbolizer
  std::shared_ptr<ElfImage> image;
  uint64_t bias = 0;  // runtime address = ELF vaddr + bias
};

// Shared by every process of one profile or stack session, keyed by
// (device-independent) path + inode, so a library is opened once.
class ImageCache {
 public:
  std::shared_ptr<ElfImage> get(const std::string& key, const std::string& open_path,
                                std::string* err);
  // The vdso is the same for every process on this kernel: ours stands in.
  std::shared_ptr<ElfImage> vdso(std::string* path_out);

 private:
  std::map<std::string, std::shared_ptr<ElfImage>> images_;
  std::map<std::string, std::string> failed_;
  std::shared_ptr<ElfImage> vdso_;
  std::string vdso_path_;
  int vdso_fd_ = -1;
};

class ProcessView {
 public:
  ProcessView(pid_t pid, ImageCache& cache) : pid_(pid), cache_(cache) {}
  pid_t pid() const { return pid_; }

  Status refresh();
  // The module covering addr; on a miss the maps are reread at most every
  // 100 ms (a library dlopened since). nullptr for anonymous memory.
  const Module* module_at(uint64_t addr);
  // Reads file-backed bytes at a runtime address (code, .eh_frame).
  bool read(uint64_t addr, void* out, size_t n);
  // Where the thread stack region containing sp ends (for copying stacks).
  uint64_t region_end(uint64_t sp) const;
  std::vector<std::string> take_notes();

 private:
  struct Range {
    uint64_t start, end;
    std::shared_ptr<Module> module;  // null: anonymous or unreadable
  };
  const Range* find(uint64_t addr) const;

  pid_t pid_;
  ImageCache& cache_;
  std::vector<Range> ranges_;  // sorted by start
  std::vector<Mapping> maps_;
  uint64_t last_refresh_ms_ = 0;
  std::vector<std::string> notes_;
  std::map<std::string, bool> noted_;
};

}  // namespace sonde::profiler
