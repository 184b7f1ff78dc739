// Memory syscalls: mmap, mprotect, munmap, brk, madvise, mremap, msync, mlock.
#include <asm/unistd_64.h>

#include <fmt/format.h>

#include "decode_internal.h"

namespace sonde::ptrace::detail {
namespace {

constexpr Named kProt[] = {
    {0, "PROT_NONE"},
    {1, "PROT_READ"},
    {2, "PROT_WRITE"},
    {4, "PROT_EXEC"},
    {8, "PROT_SEM"},
    {0x01000000, "PROT_GROWSDOWN"},
    {0x02000000, "PROT_GROWSUP"},
};
constexpr Named kMapType[] = {{1, "MAP_SHARED"}, {2, "MAP_PRIVATE"}, {3, "MAP_SHARED_VALIDATE"}};
constexpr Named kMapFlags[] = {
    {0x10, "MAP_FIXED"},
    {0x20, "MAP_ANONYMOUS"},
    {0x40, "MAP_32BIT"},
    {0x100, "MAP_GROWSDOWN"},
    {0x800, "MAP_DENYWRITE"},
    {0x1000, "MAP_EXECUTABLE"},
    {0x2000, "MAP_LOCKED"},
    {0x4000, "MAP_NORESERVE"},
    {0x8000, "MAP_POPULATE"},
    {0x10000, "MAP_NONBLOCK"},
    {0x20000, "MAP_STACK"},
    {0x40000, "MAP_HUGETLB"},
    {0x80000, "MAP_SYNC"},
    {0x100000, "MAP_FIXED_NOREPLACE"},
    {0x4000000, "MAP_UNINITIALIZED"},
};
constexpr Named kMadvise[] = {
    {0, "MADV_NORMAL"},           {1, "MADV_RANDOM"},         {2, "MADV_SEQUENTIAL"},
    {3, "MADV_WILLNEED"},         {4, "MADV_DONTNEED"},       {8, "MADV_FREE"},
    {9, "MADV_REMOVE"},           {10, "MADV_DONTFORK"},      {11, "MADV_DOFORK"},
    {12, "MADV_MERGEABLE"},       {13, "MADV_UNMERGEABLE"},   {14, "MADV_HUGEPAGE"},
    {15, "MADV_NOHUGEPAGE"},      {16, "MADV_DONTDUMP"},      {17, "MADV_DODUMP"},
    {18, "MADV_WIPEONFORK"},      {19, "MADV_KEEPONFORK"},    {20, "MADV_COLD"},
    {21, "MADV_PAGEOUT"},         {22, "MADV_POPULATE_READ"}, {23, "MADV_POPULATE_WRITE"},
    {24, "MADV_DONTNEED_LOCKED"}, {25, "MADV_COLLAPSE"},      {100, "MADV_HWPOISON"},
    {101, "MADV_SOFT_OFFLINE"},
};
constexpr Named kMremap[] = {{1, "MREMAP_MAYMOVE"}, {2, "MREMAP_FIXED"}, {4, "MREMAP_DONTUNMAP"}};
constexpr Named kMsync[] = {{1, "MS_ASYNC"}, {2, "MS_INVALIDATE"}, {4, "MS_SYNC"}};
constexpr Named kMlock2[] = {{1, "MLOCK_ONFAULT"}};

std::string map_flags_text(uint64_t f) {
  std::string out = enum_text(f & 0xf, kMapType, "MAP_");
  // Huge page size in bits 26..31 (log2), MAP_HUGE_2MB etc.
  uint64_t huge = (f >> 26) & 0x3f;
  uint64_t rest = f & ~uint64_t{0xf} & ~(uint64_t{0x3f} << 26);
  // Appended piecewise, not `"|" + string`: GCC 12 at -O3 reports a false
  // -Wrestrict inside libstdc++ for that form (GCC bug 105651).
  if (rest) {
    out += '|';
    out += flags_text(rest, kMapFlags);
  }
  if (huge) out += fmt::format("|{}<<MAP_HUGE_SHIFT", huge);
  return out;
}

}  // namespace

bool decode_memory(Call& c) {
  switch (c.nr()) {
    case __NR_mmap:
      c.ptr("addr", 0);
      c.ulong("length", 1);
      c.flags("prot", 2, kProt);
      c.add("flags", c.arg(3), map_flags_text(c.arg(3)));
      c.fd("fd", 4);
      c.xarg("offset", 5);
      return true;
    case __NR_mprotect:
    case __NR_pkey_mprotect:
      c.ptr("addr", 0);
      c.ulong("len", 1);
      c.flags("prot", 2, kProt);
      if (c.nr() == __NR_pkey_mprotect) c.sint("pkey", 3);
      return true;
    case __NR_munmap:
    case __NR_mlock:
    case __NR_munlock:
      c.ptr("addr", 0);
      c.ulong("length", 1);
      return true;
    case __NR_mlock2:
      c.ptr("addr", 0);
      c.ulong("length", 1);
      c.flags("flags", 2, kMlock2);
      return true;
    case __NR_brk:
      c.ptr("addr", 0);
      return true;
    case __NR_madvise:
      c.ptr("addr", 0);
      c.ulong("length", 1);
      c.enumv("advice", 2, kMadvise, "MADV_");
      return true;
    case __NR_mremap:
      c.ptr("old_address", 0);
      c.ulong("old_size", 1);
      c.ulong("new_size", 2);
      c.flags("flags", 3, kMremap);
      if (c.arg(3) & 2) c.ptr("new_address", 4);
      return true;
    case __NR_msync:
      c.ptr("addr", 0);
      c.ulong("length", 1);
      c.flags("flags", 2, kMsync);
      return true;
    default:
      return false;
  }
}

}  // namespace sonde::ptrace::detail
