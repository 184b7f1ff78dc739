#include "sonde/profiler/symbolizer.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "debug_cache.h"
#include "debuginfod.h"
#include "sonde/common/fd.h"

namespace sonde::profiler {
namespace {

// Names longer than this are left mangled: the demangler recurses on
// what a hostile ELF may feed it.
constexpr size_t kMaxDemangle = 4096;
constexpr size_t kMaxPathsPerModule = 4;
// Addresses remembered across all modules. A profile rarely has more; past
// it the caches start over rather than grow without bound.
constexpr size_t kMaxCachedAddresses = 256 << 10;

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  if (name[0] == '_' && name[1] == 'Z' && std::strlen(name) <= kMaxDemangle) {
    int status = 0;
    char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
    if (d != nullptr) {
      std::string s(d);
      std::free(d);
      return s;
    }
  }
  return name;
}

// Names and paths come from the target's files and end up in JSON, which
// must be valid UTF-8: a byte that does not start a well-formed sequence
// becomes '?', and text longer than any real name is cut.
constexpr size_t kMaxText = 16384;

std::string clean_text(std::string s) {
  if (s.size() > kMaxText) s.resize(kMaxText);
  for (size_t i = 0; i < s.size();) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = b(0);
    size_t n = c < 0x80                 ? 1
               : c >= 0xc2 && c <= 0xdf ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    bool ok = n > 0 && i + n <= s.size();
    if (ok && n > 1) {
      // The second byte's range excludes overlong forms, surrogates and
      // code points above U+10FFFF.
      unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
      unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
      ok = b(1) >= lo && b(1) <= hi;
      for (size_t k = 2; ok && k < n; ++k) ok = (b(k) & 0xc0) == 0x80;
    }
    if (!ok) {
      s[i++] = '?';
      continue;
    }
    i += n;
  }
  return s;
}

std::string to_hex(const void* bits, size_t len) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  const auto* p = static_cast<const unsigned char*>(bits);
  for (size_t i = 0; i < len; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

std::string dir_of(const std::string& p) {
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : p.substr(0, slash);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// A candidate debug file read with libelf alone. ELF_C_READ uses pread, not
// mmap, so a file truncated under us cannot SIGBUS the agent.
class ElfReader {
 public:
  explicit ElfReader(int fd) : elf_(elf_begin(fd, ELF_C_READ, nullptr)) {}
  ~ElfReader() {
    if (elf_ != nullptr) elf_end(elf_);
  }
  ElfReader(const ElfReader&) = delete;
  ElfReader& operator=(const ElfReader&) = delete;
  Elf* get() const { return elf_ != nullptr && elf_kind(elf_) == ELF_K_ELF ? elf_ : nullptr; }

 private:
  Elf* elf_;
};

std::string build_id_of(Elf* elf) {
  const void* bits = nullptr;
  ssize_t n = elf != nullptr ? dwelf_elf_gnu_build_id(elf, &bits) : -1;
  return n > 0 ? to_hex(bits, static_cast<size_t>(n)) : std::string();
}

// .gnu_debugaltlink: the dwz file shared by several debug files, as a
// NUL-terminated path followed by its build-id.
bool read_altlink(const char* path, std::string* name, std::string* id) {
  ScopedFd fd(::open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return false;
  ElfReader r(fd.get());
  Elf* elf = r.get();
  size_t shstrndx = 0;
  if (elf == nullptr || elf_getshdrstrndx(elf, &shstrndx) != 0) return false;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr) continue;
    const char* sname = elf_strptr(elf, shstrndx, sh.sh_name);
    if (sname == nullptr || std::strcmp(sname, ".gnu_debugaltlink") != 0) continue;
    Elf_Data* d = elf_getdata(scn, nullptr);
    if (d == nullptr || d->d_buf == nullptr) return false;
    const char* p = static_cast<const char*>(d->d_buf);
    const void* nul = std::memchr(p, 0, d->d_size);
    if (nul == nullptr) return false;
    size_t len = static_cast<size_t>(static_cast<const char*>(nul) - p);
    *name = std::string(p, len);
    *id = to_hex(p + len + 1, d->d_size - len - 1);
    return !id->empty();
  }
  return false;
}

uint32_t crc_of(int fd) {
  uLong crc = crc32(0, nullptr, 0);
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    crc = crc32(crc, reinterpret_cast<const Bytef*>(buf), static_cast<uInt>(n));
    off += n;
  }
  return static_cast<uint32_t>(crc);
}

// Whether a file found by name is the debug file we want. A debuglink can
// point at a stale or unrelated file, and libdwfl 0.188 does not check what
// a find_debuginfo callback returns, so we do: by build-id when we know
// one, else by the debuglink CRC.
bool is_wanted(int fd, const std::string& want_id, uint32_t crc) {
  if (!want_id.empty()) {
    ElfReader r(fd);
    if (r.get() == nullptr) return false;
    std::string id = build_id_of(r.get());
    if (!id.empty()) return id == want_id;
  }
  if (crc != 0) return crc_of(fd) == crc;
  return want_id.empty();
}

// Where one function's code is, by DWARF: a concrete subprogram DIE and one
// of its address ranges (a function split into hot and cold parts has two).
struct PcRange {
  Dwarf_Addr lo = 0;
  Dwarf_Addr hi = 0;
  Dwarf_Die die{};
};

// Deeper than any real program nests; hostile DWARF may nest without end,
// or loop through a DW_AT_sibling that points backwards: every walk is
// bounded in depth and in DIEs visited.
constexpr int kMaxDieDepth = 64;
constexpr size_t kMaxDiesPerWalk = size_t{8} << 20;

// Collects the subprograms with code below scope. Namespaces, classes and
// function bodies are entered because C++ puts definitions there and GNU C
// nests functions; types and variables are skipped.
void index_scope(Dwarf_Die* scope, std::vector<PcRange>& out, int depth, size_t& budget) {
  Dwarf_Die child;
  if (depth > kMaxDieDepth || dwarf_child(scope, &child) != 0) return;
  do {
    if (budget == 0) return;
    --budget;
    switch (dwarf_tag(&child)) {
      case DW_TAG_subprogram: {
        Dwarf_Addr base = 0, lo = 0, hi = 0;
        ptrdiff_t off = 0;
        while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0)
          if (lo < hi) out.push_back({lo, hi, child});
        index_scope(&child, out, depth + 1, budget);
        break;
      }
      case DW_TAG_namespace:
      case DW_TAG_class_type:
      case DW_TAG_structure_type:
      case DW_TAG_union_type:
      case DW_TAG_module:
      case DW_TAG_lexical_block:
        index_scope(&child, out, depth + 1, budget);
        break;
      default:
        break;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

// The inlined instances under scope that hold pc, outermost first.
void inlined_chain(Dwarf_Die* scope, Dwarf_Addr pc, std::vector<Dwarf_Die>& chain) {
  Dwarf_Die cur = *scope;
  size_t budget = kMaxDiesPerWalk;
  for (int depth = 0; depth < kMaxDieDepth; ++depth) {
    Dwarf_Die child;
    if (dwarf_child(&cur, &child) != 0) return;
    bool found = false;
    do {
      if (budget-- == 0) return;
      int tag = dwarf_tag(&child);
      if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block) &&
          dwarf_haspc(&child, pc) == 1) {
        if (tag == DW_TAG_inlined_subroutine) chain.push_back(child);
        cur = child;
        found = true;
        break;
      }
    } while (dwarf_siblingof(&child, &child) == 0);
    if (!found) return;
  }
}

// One ELF file and its own Dwfl. A Dwfl per module keeps lookups at the
// ELF's own vaddrs, lets processes share what one module cost, and lets
// each module have its own debug search path (its container root).
struct DwflModule {
  std::string path;      // what we open
  std::string name;      // what frames show
  std::string build_id;  // read from the ELF itself
  std::string root;      // "/proc/PID/root" when path = root + name
  std::string search_path;
  char* search_path_ptr = nullptr;
  Dwfl_Callbacks callbacks{};
  Dwfl* dwfl = nullptr;
  Dwfl_Module* mod = nullptr;
  Dwarf_Addr bias = 0;
  dev_t dev = 0;
  ino_t ino = 0;
  std::string error;  // why it could not be read; mod is null then
  DebuginfodClient* debuginfod = nullptr;
  DebugCache* debug_cache = nullptr;
  // The module's ELF, read with pread (ELF_C_READ), until libdwfl takes it
  // through find_elf; its fd goes with it.
  Elf* main_elf = nullptr;
  int main_fd = -1;
  std::string main_path;
  std::string fetch_failure;  // debuginfod's reason for not having it
  bool dwarf_checked = false;
  bool has_dwarf = false;
  bool noted = false;
  std::set<std::string> tried_paths;
  // Per CU (keyed by libdw's CU pointer): its functions sorted by address.
  // dwarf_getscopes walks the whole CU on every call, which for a C++ CU
  // full of headers costs milliseconds per address.
  std::unordered_map<const void*, std::vector<PcRange>> cu_index;
  // Per ELF that symbols came from (the file, its debug file, the
  // minidebuginfo): where its symbol string tables lie in memory.
  std::unordered_map<const Elf*, std::vector<std::pair<const char*, const char*>>> strtabs;
  // Copies of main_elf's string sections with a NUL past their end (see
  // pad_string_sections); they outlive the Dwfl, which points into them.
  std::vector<std::unique_ptr<char[]>> padded;
  std::unordered_map<uint64_t, std::vector<Frame>> cache[2];  // [is_return][vaddr]
  std::string results_pending;  // new DWARF results, for the on-disk cache

  DwflModule() = default;
  DwflModule(const DwflModule&) = delete;
  DwflModule& operator=(const DwflModule&) = delete;
  ~DwflModule() {
    if (dwfl != nullptr) dwfl_end(dwfl);
    if (main_elf != nullptr) elf_end(main_elf);
    if (main_fd >= 0) ::close(main_fd);
  }

  // The concrete subprogram DIE whose code holds pc (DWARF addresses).
  const Dwarf_Die* function_die(Dwarf_Die* cu, Dwarf_Addr pc) {
    auto [it, fresh] = cu_index.try_emplace(cu->cu);
    std::vector<PcRange>& ranges = it->second;
    if (fresh) {
      // -gsplit-dwarf: the functions live in the .dwo unit, not the skeleton.
      uint8_t type = 0;
      Dwarf_Die split;
      bool skeleton =
          dwarf_cu_info(cu->cu, nullptr, &type, nullptr, &split, nullptr, nullptr, nullptr) == 0 &&
          type == DW_UT_skeleton && dwarf_tag(&split) == DW_TAG_compile_unit;
      size_t budget = kMaxDiesPerWalk;
      index_scope(skeleton ? &split : cu, ranges, 0, budget);
      std::sort(ranges.begin(), ranges.end(),
                [](const PcRange& a, const PcRange& b) { return a.lo < b.lo; });
    }
    auto r = std::upper_bound(ranges.begin(), ranges.end(), pc,
                              [](Dwarf_Addr v, const PcRange& x) { return v < x.lo; });
    // The nearest start at or below pc, or (nested functions) one a few
    // entries back whose range encloses it.
    for (int back = 0; back < 16 && r != ranges.begin(); ++back) {
      --r;
      if (pc < r->hi) return &r->die;
    }
    return nullptr;
  }

  // Where a .gnu_debuglink (or a relative dwz altlink) may be: next to the
  // file, in .debug/ below it, and under /usr/lib/debug, in the target's
  // root first, then on the host.
  std::vector<std::string> debuglink_candidates(const char* file_name,
                                                const std::string& link) const {
    std::vector<std::string> out;
    auto add = [&out](std::string p) {
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
    };
    if (link.front() == '/') {
      if (!root.empty()) add(root + link);
      add(link);
      return out;
    }
    std::vector<std::string> dirs;
    if (file_name != nullptr) dirs.push_back(dir_of(file_name));
    dirs.push_back(dir_of(path));
    for (const auto& d : dirs) {
      add(join(d, link));
      add(join(join(d, ".debug"), link));
    }
    std::string mapped_dir = name.front() == '/' ? dir_of(name) : dir_of(path);
    if (!root.empty()) add(join(root + "/usr/lib/debug" + mapped_dir, link));
    add(join("/usr/lib/debug" + mapped_dir, link));
    return out;
  }
};

// libdw and libdwfl read names out of string sections with strlen, trusting
// the file to end each with a NUL (0.188 does not check .debug_line_str, nor
// the symbol string table). Read with ELF_C_READ, each section is a heap
// block of exactly its size, so a file whose last string has no NUL would be
// read past the block. Each string section of the module's ELF gets a copy
// with a NUL after its end before libdwfl sees it; d_size stays the same.
// (Debug files libdwfl maps itself: an untrusted one is a private copy
// followed by zeros, see private_if_untrusted.)
bool string_section(Elf* elf, size_t shstrndx, const GElf_Shdr& sh) {
  if (sh.sh_type == SHT_STRTAB || (sh.sh_flags & SHF_STRINGS) != 0) return true;
  const char* n = elf_strptr(elf, shstrndx, sh.sh_name);
  if (n == nullptr) return false;
  std::string_view name(n);
  return name.rfind(".debug_str", 0) == 0 || name.rfind(".debug_line_str", 0) == 0;
}

void pad_string_sections(Elf* elf, std::vector<std::unique_ptr<char[]>>* keep) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) shstrndx = 0;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr || sh.sh_type == SHT_NOBITS) continue;
    if (!string_section(elf, shstrndx, sh)) continue;
    // Inflated here rather than by libdw, so that the copy is what it reads.
    if ((sh.sh_flags & SHF_COMPRESSED) != 0 && elf_compress(scn, 0, 0) < 0) continue;
    Elf_Data* d = elf_getdata(scn, nullptr);
    if (d == nullptr || d->d_buf == nullptr || d->d_size == 0) continue;
    auto copy = std::make_unique<char[]>(d->d_size + 1);
    std::memcpy(copy.get(), d->d_buf, d->d_size);
    copy[d->d_size] = '\0';
    d->d_buf = copy.get();
    keep->push_back(std::move(copy));
  }
}

// Hands libdwfl the Elf open_module made. Not dwfl_report_elf: it opens
// the file itself with ELF_C_READ_MMAP_PRIVATE, and a target's user who
// truncates a mapped file makes the agent's next read of it a SIGBUS.
int module_find_elf(Dwfl_Module*, void** userdata, const char*, Dwarf_Addr, char** file_name,
                    Elf** elfp) {
  DwflModule* m = userdata != nullptr ? static_cast<DwflModule*>(*userdata) : nullptr;
  if (m == nullptr || m->main_elf == nullptr) return -1;
  *elfp = std::exchange(m->main_elf, nullptr);
  if (*file_name == nullptr) *file_name = ::strdup(m->main_path.c_str());
  return std::exchange(m->main_fd, -1);
}

// The address range dwfl_report_elf (base 0, add_p_vaddr) reports: from the
// first PT_LOAD, aligned down as libdwfl aligns it (so the bias is 0), to
// the end of the last.
bool load_range(Elf* elf, GElf_Addr* start, GElf_Addr* end) {
  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) != 0) return false;
  bool found = false;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf, static_cast<int>(i), &ph) == nullptr || ph.p_type != PT_LOAD) continue;
    if (!found) *start = ph.p_vaddr & -ph.p_align;
    *end = ph.p_vaddr + ph.p_memsz;
    found = true;
  }
  return found && *end > *start;
}

// find_debuginfo for every module: the /usr/lib/debug/.build-id tree, then
// the .gnu_debuglink places, then sonde's debuginfod client. We never call
// dwfl_standard_find_debuginfo: in 0.188 its last step is libdw's own
// debuginfod client (a dlopen of libdebuginfod.so), which cannot work in the
// static agent and would fetch a second time in a dynamic build.
int find_debuginfo_file(void** userdata, const char* file_name, const char* debuglink,
                        GElf_Word crc, char** debuginfo_file_name) {
  DwflModule* m = userdata != nullptr ? static_cast<DwflModule*>(*userdata) : nullptr;
  if (m == nullptr) return -1;

  // libdwfl calls us again for the dwz alt file of a debug file it loaded,
  // with the altlink path as the "debuglink" and no CRC: then the build-id
  // to want is the altlink's, not the module's.
  std::string want = m->build_id;
  bool alt = false;
  if (debuglink != nullptr && file_name != nullptr) {
    std::string alt_name, alt_id;
    if (read_altlink(file_name, &alt_name, &alt_id) && alt_name == debuglink) {
      want = alt_id;
      alt = true;
      crc = 0;
    }
  }

  // By build-id first. Not dwfl_build_id_find_debuginfo: it keeps its own
  // Elf of the file it finds, so the descriptor we return (an uncompressed
  // copy, see prefer_uncompressed) would be ignored.
  if (!want.empty()) {
    std::vector<std::string> dirs;
    if (!m->root.empty()) dirs.push_back(m->root + "/usr/lib/debug");
    dirs.emplace_back("/usr/lib/debug");
    for (const auto& d : dirs) {
      std::string c = d + "/.build-id/" + want.substr(0, 2) + "/" + want.substr(2) + ".debug";
      ScopedFd f(::open(c.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
      struct stat st {};
      if (!f.valid() || ::fstat(f.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (!is_wanted(f.get(), want, 0)) continue;
      *debuginfo_file_name = ::strdup(c.c_str());
      return f.release();
    }
  }

  if (debuglink != nullptr && debuglink[0] != '\0' && std::strlen(debuglink) < 4096) {
    for (const auto& c : m->debuglink_candidates(file_name, debuglink)) {
      ScopedFd f(::open(c.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
      struct stat st {};
      if (!f.valid() || ::fstat(f.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      // A debuglink naming the module itself (same name, same directory).
      if (st.st_dev == m->dev && st.st_ino == m->ino) continue;
      if (!is_wanted(f.get(), want, crc)) continue;
      *debuginfo_file_name = ::strdup(c.c_str());
      return f.release();
    }
  }

  if (!want.empty() && m->debuginfod->enabled()) {
    std::string why;
    std::string p = m->debuginfod->find(want, &why);
    if (!p.empty()) {
      ScopedFd f(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
      if (f.valid() && is_wanted(f.get(), want, 0)) {
        *debuginfo_file_name = ::strdup(p.c_str());
        return f.release();
      }
      why = p + " is not the debug file for build-id " + want;
    }
    // A client that just broke (no debuginfod-find, timeout) says so in
    // its own note; this one is for "the servers do not have it".
    if (!alt && m->debuginfod->enabled()) m->fetch_failure = why;
  }
  return -1;
}

// A file whose debug sections are compressed, swapped for its uncompressed
// copy in the debug cache (made on first use): libdw then maps it instead of
// inflating whole sections on every run. Not for a dwz file's user with a
// relative altlink, which is resolved from the file's own directory.
int prefer_uncompressed(DebugCache* cache, int fd, char** name) {
  if (fd < 0 || cache == nullptr || !cache->enabled()) return fd;
  std::string id;
  {
    ElfReader r(fd);
    id = build_id_of(r.get());
  }
  if (id.empty()) return fd;
  std::string alt_name, alt_id;
  if (*name != nullptr && read_altlink(*name, &alt_name, &alt_id) && alt_name.front() != '/')
    return fd;
  std::string path;
  ScopedFd copy = cache->uncompressed(fd, id, &path);
  if (!copy.valid()) return fd;
  ::close(fd);
  std::free(*name);
  *name = ::strdup(path.c_str());
  return copy.release();
}

// libdwfl maps the debug file we return (ELF_C_READ_MMAP_PRIVATE), and has
// no way to take an Elf of ours for it. A file only root can change is
// mapped as it is; one its owner (maybe the target's user) or a container
// could truncate under the mapping, which would SIGBUS the agent, is given
// as a private copy in memory instead, up to kMaxPrivateCopy.
constexpr off_t kMaxPrivateCopy = off_t{512} << 20;

int private_if_untrusted(int fd, const char* name) {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) return fd;
  bool in_container = name != nullptr && std::strncmp(name, "/proc/", 6) == 0;
  if (st.st_uid == 0 && (st.st_mode & 022) == 0 && !in_container) return fd;
  ScopedFd in(fd);
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxPrivateCopy) return -1;
  ScopedFd copy(::memfd_create("sonde-debug", MFD_CLOEXEC));
  if (!copy.valid()) return -1;
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = ::sendfile(copy.get(), in.get(), &off, static_cast<size_t>(st.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // shorter than it was: what is there is what we get
  }
  // Zeros after the file's bytes: a string section at the end of a hostile
  // file whose last string has no NUL then stops there, not past the map.
  if (::ftruncate(copy.get(), off + 4096) != 0) return -1;
  return copy.release();
}

int find_debuginfo(Dwfl_Module*, void** userdata, const char*, Dwarf_Addr, const char* file_name,
                   const char* debuglink, GElf_Word crc, char** debuginfo_file_name) {
  int fd = find_debuginfo_file(userdata, file_name, debuglink, crc, debuginfo_file_name);
  DwflModule* m = userdata != nullptr ? static_cast<DwflModule*>(*userdata) : nullptr;
  if (m != nullptr) fd = prefer_uncompressed(m->debug_cache, fd, debuginfo_file_name);
  return private_if_untrusted(fd, *debuginfo_file_name);
}

void open_module(DwflModule& m) {
  m.tried_paths.insert(m.path);
  if (m.name.front() == '/' && m.path.size() > m.name.size() &&
      m.path.compare(m.path.size() - m.name.size(), m.name.size(), m.name) == 0)
    m.root = m.path.substr(0, m.path.size() - m.name.size());
  // Only absolute entries matter: libdwfl looks for .build-id/ below each.
  m.search_path = m.root.empty() ? "/usr/lib/debug" : m.root + "/usr/lib/debug:/usr/lib/debug";
  m.search_path_ptr = m.search_path.data();
  m.callbacks.find_elf = module_find_elf;
  m.callbacks.find_debuginfo = find_debuginfo;
  m.callbacks.section_address = dwfl_offline_section_address;
  m.callbacks.debuginfo_path = &m.search_path_ptr;

  // O_NONBLOCK: a path swapped for a FIFO must not hang the open.
  // O_NOFOLLOW: a mapped file's name is never a symlink, so one there now
  // is not what the target maps; but /proc/PID/map_files and /proc/self/fd
  // entries are the kernel's own links to the file and are followed.
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  if (m.path.find("/map_files/") == std::string::npos && m.path.rfind("/proc/self/fd/", 0) != 0)
    flags |= O_NOFOLLOW;
  ScopedFd fd(::open(m.path.c_str(), flags));
  struct stat st {};
  if (!fd.valid()) {
    m.error = std::strerror(errno);
    return;
  }
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    m.error = "not a regular file";
    return;
  }
  m.dev = st.st_dev;
  m.ino = st.st_ino;
  m.dwfl = dwfl_begin(&m.callbacks);
  if (m.dwfl == nullptr) {
    m.error = dwfl_errmsg(-1);
    return;
  }
  dwfl_report_begin(m.dwfl);
  // add_p_vaddr with base 0 places every segment at its own p_vaddr, so
  // ELF vaddrs are the addresses we look up (bias 0, checked below anyway).
  // A binary that carries its own compressed DWARF is read from the
  // uncompressed copy: same bytes, same vaddrs, nothing left to inflate.
  std::string report_path = m.path;
  if (m.debug_cache != nullptr && m.debug_cache->enabled() &&
      elf_has_compressed_sections(fd.get())) {
    char* name = ::strdup(m.path.c_str());
    fd.reset(prefer_uncompressed(m.debug_cache, fd.release(), &name));
    if (name != nullptr) report_path = name;
    std::free(name);
  }
  m.main_elf = elf_begin(fd.get(), ELF_C_READ, nullptr);
  GElf_Addr start = 0, end = 0;
  if (m.main_elf == nullptr || elf_kind(m.main_elf) != ELF_K_ELF) {
    m.error = "not a valid ELF file";
  } else if (!load_range(m.main_elf, &start, &end)) {
    m.error = "no loadable segments";
  } else {
    pad_string_sections(m.main_elf, &m.padded);
    m.mod = dwfl_report_module(m.dwfl, m.name.c_str(), start, end);
    if (m.mod == nullptr) m.error = dwfl_errmsg(-1);
  }
  dwfl_report_end(m.dwfl, nullptr, nullptr);
  if (m.mod == nullptr) return;
  m.main_fd = fd.release();  // goes to libdwfl with the Elf
  m.main_path = report_path;

  void** userdata = nullptr;
  dwfl_module_info(m.mod, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  if (userdata != nullptr) *userdata = &m;
  GElf_Addr bias = 0;
  if (dwfl_module_getelf(m.mod, &bias) != nullptr) {
    m.bias = bias;
  } else {
    m.error = dwfl_errmsg(-1);
    m.mod = nullptr;
    return;
  }
  const unsigned char* bits = nullptr;
  GElf_Addr id_vaddr = 0;
  int n = dwfl_module_build_id(m.mod, &bits, &id_vaddr);
  if (n > 0) m.build_id = to_hex(bits, static_cast<size_t>(n));
}

// A DIE's function name: the demangled linkage name (what the symbol table
// would say, parameters included) or the plain name (C, static functions).
// dwarf_attr_integrate follows abstract_origin and specification.
std::string die_function_name(Dwarf_Die* die) {
  Dwarf_Attribute a;
  const char* n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
  if (n == nullptr) n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
  if (n != nullptr) return demangle(n);
  n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
  return n != nullptr ? n : "";
}

// Where an inlined instance was called from: a line in the next-outer frame.
void call_site(Dwarf_Die* inl, std::string* file, uint32_t* line) {
  file->clear();
  *line = 0;
  Dwarf_Attribute a;
  Dwarf_Word v = 0;
  if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &a), &v) == 0)
    *line = static_cast<uint32_t>(v);
  Dwarf_Die cu;
  Dwarf_Files* files = nullptr;
  size_t nfiles = 0;
  if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &a), &v) == 0 &&
      dwarf_diecu(inl, &cu, nullptr, nullptr) != nullptr &&
      dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 && v < nfiles) {
    const char* f = dwarf_filesrc(files, v, nullptr, nullptr);
    if (f != nullptr) *file = f;
  }
}

// libdwfl hands out a symbol's name as a pointer into the string table it
// read, checking only that the name starts inside it; a table whose last
// name has no NUL would be read past its end. The name is kept only when it
// starts in a string table of the ELF it came from, and is bounded by that
// table's end.
std::string symbol_name(DwflModule& m, const char* name, Elf* elf) {
  if (name == nullptr || elf == nullptr) return {};
  auto [it, fresh] = m.strtabs.try_emplace(elf);
  if (fresh) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf, scn)) != nullptr) {
      GElf_Shdr sh;
      if (gelf_getshdr(scn, &sh) == nullptr) continue;
      if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) continue;
      Elf_Data* d = elf_getdata(elf_getscn(elf, sh.sh_link), nullptr);
      if (d == nullptr || d->d_buf == nullptr) continue;
      const char* b = static_cast<const char*>(d->d_buf);
      it->second.emplace_back(b, b + d->d_size);
    }
  }
  for (const auto& [b, e] : it->second) {
    if (name < b || name >= e) continue;
    std::string n(name, ::strnlen(name, static_cast<size_t>(e - name)));
    return demangle(n.c_str());
  }
  return {};
}

// addr and real are in the Dwfl's address space: addr is what we look up
// (real - 1 for a return address), real is what sym_offset counts from.
std::vector<Frame> lookup(DwflModule& m, Dwarf_Addr addr, Dwarf_Addr real) {
  Frame outer;
  GElf_Off off = 0;
  GElf_Sym sym;
  Elf* sym_elf = nullptr;
  const char* sname = dwfl_module_addrinfo(m.mod, addr, &off, &sym, nullptr, &sym_elf, nullptr);
  outer.function = symbol_name(m, sname, sym_elf);
  if (!outer.function.empty()) outer.sym_offset = real - (addr - off);

  Dwfl_Line* row = dwfl_module_getsrc(m.mod, addr);
  std::string file;
  uint32_t line = 0;
  if (row != nullptr) {
    int l = 0;
    const char* f = dwfl_lineinfo(row, nullptr, &l, nullptr, nullptr, nullptr);
    if (f != nullptr) file = f;
    if (l > 0) line = static_cast<uint32_t>(l);
  }

  std::vector<Frame> frames;
  Dwarf_Addr dwbias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(m.mod, addr, &dwbias);
  const Dwarf_Die* sub = cu != nullptr ? m.function_die(cu, addr - dwbias) : nullptr;
  std::vector<Dwarf_Die> chain;
  if (sub != nullptr) {
    Dwarf_Die d = *sub;
    inlined_chain(&d, addr - dwbias, chain);
    if (outer.function.empty()) {
      outer.function = die_function_name(&d);
      Dwarf_Addr entry = 0;
      if (dwarf_entrypc(&d, &entry) == 0 && entry + dwbias <= real)
        outer.sym_offset = real - (entry + dwbias);
    }
  }
  // Innermost first: each instance's call site is the line of the frame
  // that contains it.
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    Frame f;
    f.function = die_function_name(&*it);
    f.file = file;
    f.line = line;
    f.inlined = true;
    Dwarf_Addr entry = 0;
    if (dwarf_entrypc(&*it, &entry) == 0 && entry + dwbias <= real)
      f.sym_offset = real - (entry + dwbias);
    frames.push_back(std::move(f));
    call_site(&*it, &file, &line);
  }
  outer.file = file;
  outer.line = line;
  frames.push_back(std::move(outer));
  return frames;
}

}  // namespace

struct Symbolizer::Impl {
  explicit Impl(std::string cache_dir) : debug_cache(std::move(cache_dir)) {}
  ~Impl() { flush_results(); }
  DebuginfodClient debuginfod;
  DebugCache debug_cache;
  std::unordered_map<std::string, std::unique_ptr<DwflModule>> modules;
  std::vector<std::string> notes;
  SymbolizerStats stats;
  size_t cached = 0;

  // Results an earlier run computed for this build-id (see
  // DebugCache::results_path); a line that does not parse is skipped.
  void load_results(DwflModule& m) {
    std::string p = debug_cache.results_path(m.build_id);
    if (p.empty()) return;
    ScopedFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
    struct stat st {};
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) > DebugCache::kMaxResultsFile)
      return;
    std::string text(static_cast<size_t>(st.st_size), '\0');
    ssize_t got = ::pread(fd.get(), text.data(), text.size(), 0);
    if (got <= 0) return;
    text.resize(static_cast<size_t>(got));
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) break;  // torn last line
      json j = json::parse(text.begin() + static_cast<std::ptrdiff_t>(pos),
                           text.begin() + static_cast<std::ptrdiff_t>(nl), nullptr, false);
      pos = nl + 1;
      if (!j.is_object() || !j.contains("a") || !j["a"].is_number_unsigned() || !j.contains("r") ||
          !j["r"].is_boolean() || !j.contains("f") || !j["f"].is_array() || j["f"].empty())
        continue;
      std::vector<Frame> frames;
      for (const auto& fj : j["f"]) {
        auto f = frame_from_json(fj);
        if (!f) break;
        frames.push_back(std::move(*f));
      }
      if (frames.size() != j["f"].size()) continue;
      m.cache[j["r"].get<bool>() ? 1 : 0][j["a"].get<uint64_t>()] = std::move(frames);
      ++stats.results_loaded;
    }
  }

  void flush_results() {
    for (auto& [key, m] : modules) {
      if (m->results_pending.empty()) continue;
      debug_cache.append_results(m->build_id, m->results_pending);
      m->results_pending.clear();
    }
  }

  void remember(DwflModule& m, bool is_return, uint64_t vaddr, const std::vector<Frame>& frames) {
    if (++cached > kMaxCachedAddresses) {
      for (auto& [key, mod] : modules)
        for (auto& c : mod->cache) c.clear();
      cached = 1;
    }
    m.cache[is_return ? 1 : 0].emplace(vaddr, frames);
  }

  DwflModule& module(const ModuleRef& ref) {
    const std::string& key = ref.build_id.empty() ? ref.path : ref.build_id;
    auto& slot = modules[key];
    // A module that failed may open under another path (the first process
    // that mapped it may be gone); a few tries, not one per lookup.
    bool retry = slot && slot->mod == nullptr && !slot->tried_paths.count(ref.path) &&
                 slot->tried_paths.size() < kMaxPathsPerModule;
    if (slot && !retry) return *slot;
    auto m = std::make_unique<DwflModule>();
    if (slot) {
      m->tried_paths = std::move(slot->tried_paths);
      m->noted = slot->noted;
    }
    m->path = ref.path;
    m->name = ref.name.empty() ? ref.path : ref.name;
    m->debuginfod = &debuginfod;
    m->debug_cache = &debug_cache;
    if (m->path.empty()) {
      m->error = "no path";
    } else {
      open_module(*m);
    }
    if (m->mod != nullptr) {
      ++stats.modules;
      load_results(*m);
    } else if (!m->noted) {
      m->noted = true;
      notes.push_back("cannot read " + m->name + ": " + m->error);
    }
    slot = std::move(m);
    return *slot;
  }

  void note_missing_debug_info(DwflModule& m) {
    m.noted = true;
    std::string what = "no debug info for " + m.name + " (" +
                       (m.build_id.empty() ? "no build-id" : "build-id " + m.build_id) + ")";
    if (!m.fetch_failure.empty()) {
      notes.push_back(what + ": debuginfod has none (" + m.fetch_failure +
                      "); install its -dbgsym package");
    } else if (debuginfod.configured() || m.build_id.empty()) {
      // debuginfod cannot help without a build-id; when it is configured
      // but unusable, its own note says why.
      notes.push_back(what + ": install its -dbgsym package");
    } else {
      notes.push_back(what + ": install its -dbgsym package or set DEBUGINFOD_URLS");
    }
  }
};

Symbolizer::Symbolizer(std::string debug_cache_dir)
    : impl_(std::make_unique<Impl>(std::move(debug_cache_dir))) {
  elf_version(EV_CURRENT);
}

Symbolizer::~Symbolizer() = default;

std::vector<Frame> Symbolizer::symbolize(const ModuleRef& ref, uint64_t elf_vaddr, bool is_return) {
  ++impl_->stats.lookups;
  DwflModule& m = impl_->module(ref);
  const std::string& name = ref.name.empty() ? ref.path : ref.name;
  const auto& cache = m.cache[is_return ? 1 : 0];
  std::vector<Frame> frames;
  if (auto it = cache.find(elf_vaddr); it != cache.end()) {
    ++impl_->stats.cache_hits;
    frames = it->second;
  } else {
    if (m.mod != nullptr) {
      if (!m.dwarf_checked) {
        Dwarf_Addr b = 0;
        m.has_dwarf = dwfl_module_getdwarf(m.mod, &b) != nullptr;
        m.dwarf_checked = true;
      }
      Dwarf_Addr real = elf_vaddr + m.bias;
      frames = lookup(m, is_return && real > 0 ? real - 1 : real, real);
      const Frame& f = frames.back();
      // Not for [vdso] and friends: their debug info is in no package a
      // user would install for this.
      if (!m.has_dwarf && !m.noted && m.name.front() != '[' && (f.function.empty() || f.line == 0))
        impl_->note_missing_debug_info(m);
    } else {
      frames.emplace_back();
    }
    for (auto& f : frames) {
      f.kind = FrameKind::kCode;
      f.rel = elf_vaddr;
      f.function = clean_text(std::move(f.function));
      f.file = clean_text(std::move(f.file));
    }
    impl_->remember(m, is_return, elf_vaddr, frames);
    if (m.has_dwarf && !m.build_id.empty() && impl_->debug_cache.enabled()) {
      json line = {{"a", elf_vaddr}, {"r", is_return}, {"f", json::array()}};
      for (const auto& f : frames) line["f"].push_back(to_json(f));
      m.results_pending += line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    }
  }
  // Processes map one build-id under different paths: show this caller's.
  for (auto& f : frames) f.module = name;
  return frames;
}

std::vector<std::string> Symbolizer::take_notes() {
  // The end of a request: what it computed is kept for the next run.
  impl_->flush_results();
  std::vector<std::string> out;
  if (auto p = impl_->debuginfod.take_problem(); !p.empty()) out.push_back(clean_text(p));
  for (auto& n : impl_->notes) out.push_back(clean_text(std::move(n)));
  impl_->notes.clear();
  return out;
}

SymbolizerStats Symbolizer::stats() const {
  SymbolizerStats s = impl_->stats;
  s.debug_cache_hits = impl_->debug_cache.stats().hits;
  s.debug_cache_written = impl_->debug_cache.stats().written;
  return s;
}

std::string default_debug_cache_dir() {
  return DebugCache::default_dir();
}

}  // namespace sonde::profiler
