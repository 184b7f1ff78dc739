// ELF files of the target, which the agent reads to unwind and name frames:
// ElfImage (program headers, build-id note, .eh_frame_hdr, the .debug_frame
// index) from bytes and through a file mapping, then the Symbolizer on the
// same file (libdwfl plus our debuglink/altlink search and DWARF walks).
#include <cstdint>
#include <cstdlib>

#include "../profiler/src/elf_image.h"
#include "fuzz_input.h"
#include "sonde/profiler/symbolizer.h"

using namespace sonde;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Never fetch debug info over the network or write a cache while fuzzing.
  ::unsetenv("DEBUGINFOD_URLS");
  ::setenv("SONDE_DEBUG_CACHE", "off", 1);
  return 0;
}

namespace {

void walk(const profiler::ElfImage& img) {
  uint8_t buf[64];
  (void)img.read(img.text_start(), buf, sizeof buf);
  (void)img.read(img.text_end() - 1, buf, 1);
  (void)img.vaddr_of_offset(0);
  if (const auto& h = img.eh_frame_hdr()) {
    // The binary-search table, as the unwinder reads it: 8 bytes per entry.
    for (uint64_t i = 0; i < h->fde_count && i < 64; ++i)
      (void)img.read(h->table_vaddr + i * 8, buf, 8);
  }
  for (const auto& f : img.debug_frame_index()) (void)img.read(f.start, buf, 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string err;
  auto img = profiler::ElfImage::from_bytes(std::vector<uint8_t>(data, data + size), &err);
  if (img) walk(*img);

  fuzz::MemFile file(data, size);
  if (!file.ok()) return 0;
  if (auto mapped = profiler::ElfImage::open_file(file.path(), &err)) walk(*mapped);
  if (!img) return 0;

  profiler::Symbolizer sym("");
  profiler::ModuleRef ref{file.path(), "/usr/lib/fuzz/libfuzz.so", img->build_id()};
  for (uint64_t a : {img->text_start(), img->text_start() + 16, img->text_end() - 1})
    for (const auto& f : sym.symbolize(ref, a, false)) (void)json(f.function).dump();
  (void)sym.take_notes();
  return 0;
}
