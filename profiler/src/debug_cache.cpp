#include "debug_cache.h"
#include "debuginfod.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <type_traits>
#include <vector>

namespace sonde::profiler {
namespace {

#ifndef ELFCOMPRESS_ZSTD
#define ELFCOMPRESS_ZSTD 2
#endif

constexpr size_t kInflateChunk = size_t{1} << 20;
constexpr uint32_t kMaxSections = 1u << 16;
// A stale temp file (an agent killed mid-write) is removed after this long.
constexpr time_t kStaleTempSec = 3600;

// pread/pwrite until all n bytes moved; false on an error or end of file.
template <typename Op, typename Buf>
bool transfer_all(Op op, int fd, Buf* buf, size_t n, uint64_t off) {
  auto* p =
      reinterpret_cast<std::conditional_t<std::is_const_v<Buf>, const uint8_t*, uint8_t*>>(buf);
  while (n > 0) {
    ssize_t r = op(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return true;
}

bool pread_all(int fd, void* buf, size_t n, uint64_t off) {
  return transfer_all(::pread, fd, buf, n, off);
}

bool pwrite_all(int fd, const void* buf, size_t n, uint64_t off) {
  return transfer_all(::pwrite, fd, buf, n, off);
}

uint64_t file_size(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
}

// The headers of a 64-bit little-endian ELF, read with every bound checked.
struct Headers {
  Elf64_Ehdr eh{};
  std::vector<Elf64_Shdr> sh;
  std::vector<Elf64_Phdr> ph;
  uint64_t size = 0;
};

bool read_headers(int fd, Headers& h, std::string* err) {
  h.size = file_size(fd);
  if (h.size < sizeof h.eh || !pread_all(fd, &h.eh, sizeof h.eh, 0)) {
    *err = "not an ELF file";
    return false;
  }
  const auto& e = h.eh;
  if (std::memcmp(e.e_ident, ELFMAG, SELFMAG) != 0 || e.e_ident[EI_CLASS] != ELFCLASS64 ||
      e.e_ident[EI_DATA] != ELFDATA2LSB) {
    *err = "not a 64-bit little-endian ELF file";
    return false;
  }
  if (e.e_shoff == 0 || e.e_shentsize != sizeof(Elf64_Shdr)) {
    *err = "no section headers";
    return false;
  }
  Elf64_Shdr first{};
  if (e.e_shoff > h.size || h.size - e.e_shoff < sizeof first ||
      !pread_all(fd, &first, sizeof first, e.e_shoff)) {
    *err = "section headers out of the file";
    return false;
  }
  uint64_t n = e.e_shnum != 0 ? e.e_shnum : first.sh_size;  // extended numbering
  if (n == 0 || n > kMaxSections || (h.size - e.e_shoff) / sizeof(Elf64_Shdr) < n) {
    *err = "bad section count";
    return false;
  }
  h.sh.resize(n);
  if (!pread_all(fd, h.sh.data(), n * sizeof(Elf64_Shdr), e.e_shoff)) {
    *err = "section headers unreadable";
    return false;
  }
  if (e.e_phnum != 0) {
    if (e.e_phentsize != sizeof(Elf64_Phdr) || e.e_phnum == PN_XNUM || e.e_phoff > h.size ||
        (h.size - e.e_phoff) / sizeof(Elf64_Phdr) < e.e_phnum) {
      *err = "bad program headers";
      return false;
    }
    h.ph.resize(e.e_phnum);
    if (!pread_all(fd, h.ph.data(), h.ph.size() * sizeof(Elf64_Phdr), e.e_phoff)) {
      *err = "program headers unreadable";
      return false;
    }
  }
  for (size_t i = 1; i < h.sh.size(); ++i) {
    const auto& s = h.sh[i];
    if (s.sh_type != SHT_NOBITS && (s.sh_offset > h.size || h.size - s.sh_offset < s.sh_size)) {
      *err = "section " + std::to_string(i) + " out of the file";
      return false;
    }
  }
  return true;
}

bool compressed(const Elf64_Shdr& s) {
  return s.sh_type != SHT_NOBITS && (s.sh_flags & SHF_COMPRESSED) != 0;
}

uint64_t align_up(uint64_t v, uint64_t a) {
  if (a <= 1) return v;
  return (v + a - 1) / a * a;
}

// Streams one compressed section's payload into out_fd at off; exactly
// `want` bytes must come out.
std::string inflate_section(int in_fd, uint64_t in_off, uint64_t in_len, uint32_t type, int out_fd,
                            uint64_t off, uint64_t want) {
  std::vector<uint8_t> in(kInflateChunk), out(kInflateChunk);
  uint64_t produced = 0, consumed = 0;
  if (type == ELFCOMPRESS_ZLIB) {
    z_stream z{};
    if (inflateInit(&z) != Z_OK) return "zlib init failed";
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      if (z.avail_in == 0) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(kInflateChunk, in_len - consumed));
        if (n == 0 || !pread_all(in_fd, in.data(), n, in_off + consumed)) break;
        consumed += n;
        z.next_in = in.data();
        z.avail_in = static_cast<uInt>(n);
      }
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) break;
      size_t got = out.size() - z.avail_out;
      if (produced + got > want || !pwrite_all(out_fd, out.data(), got, off + produced)) {
        rc = Z_DATA_ERROR;
        break;
      }
      produced += got;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END) return "corrupt zlib section";
  } else if (type == ELFCOMPRESS_ZSTD) {
    ZSTD_DStream* z = ZSTD_createDStream();
    if (z == nullptr) return "zstd init failed";
    ZSTD_inBuffer ib{in.data(), 0, 0};
    size_t rc = 1;
    bool bad = false;
    while (rc != 0 && !bad) {
      if (ib.pos == ib.size) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(kInflateChunk, in_len - consumed));
        if (n == 0 || !pread_all(in_fd, in.data(), n, in_off + consumed)) break;
        consumed += n;
        ib = {in.data(), n, 0};
      }
      ZSTD_outBuffer ob{out.data(), out.size(), 0};
      rc = ZSTD_decompressStream(z, &ob, &ib);
      if (ZSTD_isError(rc) || produced + ob.pos > want ||
          !pwrite_all(out_fd, out.data(), ob.pos, off + produced)) {
        bad = true;
        break;
      }
      produced += ob.pos;
    }
    ZSTD_freeDStream(z);
    if (bad || rc != 0) return "corrupt zstd section";
  } else {
    return "unknown compression type " + std::to_string(type);
  }
  if (produced != want) return "section inflated to the wrong size";
  return "";
}

// Whether the file system holding dir keeps enough room after `need` bytes.
bool room_for(const std::string& dir, uint64_t need, const DebugCacheLimits& l) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return false;
  uint64_t total = static_cast<uint64_t>(v.f_blocks) * v.f_frsize;
  uint64_t avail = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
  if (avail < need) return false;
  uint64_t left = avail - need;
  return left >= l.min_free_bytes && left >= total / 100 * l.min_free_percent;
}

// Keeps the directory under max_total - incoming: oldest (by mtime, which
// a hit refreshes) out first. Stale temp files go too.
void evict(const std::string& dir, uint64_t incoming, uint64_t max_total) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  struct Entry {
    std::string path;
    time_t mtime;
    uint64_t size;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  time_t now = ::time(nullptr);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string p = dir + "/" + name;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (name.rfind(".tmp-", 0) == 0) {
      if (now - st.st_mtime > kStaleTempSec) ::unlink(p.c_str());
      continue;
    }
    entries.push_back({p, st.st_mtime, static_cast<uint64_t>(st.st_size)});
    total += static_cast<uint64_t>(st.st_size);
  }
  ::closedir(d);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.mtime < b.mtime; });
  for (const auto& e : entries) {
    if (total + incoming <= max_total) break;
    if (::unlink(e.path.c_str()) == 0) total -= std::min(total, e.size);
  }
}

bool make_dirs(const std::string& dir) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    cur = dir.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The cache files entries under the first bytes of the id: ids shorter than
// 4 bytes are not cached.
bool cacheable_build_id(const std::string& id) {
  return id.size() >= 8 && valid_build_id(id);
}

}  // namespace

bool elf_has_compressed_sections(int fd) {
  Headers h;
  std::string err;
  if (!read_headers(fd, h, &err)) return false;
  return std::any_of(h.sh.begin(), h.sh.end(), compressed);
}

std::string write_uncompressed_elf(int in_fd, int out_fd, uint64_t max_out) {
  Headers h;
  std::string err;
  if (!read_headers(in_fd, h, &err)) return err;

  // New layout: header, program headers, then every section with data in
  // its original file order, then the section header table.
  std::vector<Elf64_Shdr> out_sh = h.sh;
  std::vector<uint32_t> types(h.sh.size(), 0);
  for (size_t i = 1; i < h.sh.size(); ++i) {
    if (!compressed(h.sh[i])) continue;
    Elf64_Chdr ch{};
    if (h.sh[i].sh_size < sizeof ch || !pread_all(in_fd, &ch, sizeof ch, h.sh[i].sh_offset))
      return "section " + std::to_string(i) + " has no compression header";
    types[i] = ch.ch_type;
    out_sh[i].sh_flags &= ~static_cast<uint64_t>(SHF_COMPRESSED);
    out_sh[i].sh_size = ch.ch_size;
    out_sh[i].sh_addralign = ch.ch_addralign;
  }
  std::vector<size_t> order;
  for (size_t i = 1; i < h.sh.size(); ++i) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return h.sh[a].sh_offset < h.sh[b].sh_offset; });

  uint64_t pos = sizeof(Elf64_Ehdr);
  uint64_t phoff = 0;
  if (!h.ph.empty()) {
    phoff = pos;
    pos += h.ph.size() * sizeof(Elf64_Phdr);
  }
  for (size_t i : order) {
    auto& s = out_sh[i];
    if (s.sh_type == SHT_NOBITS) {
      s.sh_offset = pos;
      continue;
    }
    pos = align_up(pos, s.sh_addralign);
    s.sh_offset = pos;
    if (s.sh_size > max_out || pos > max_out - s.sh_size) return "too large to cache";
    pos += s.sh_size;
  }
  uint64_t shoff = align_up(pos, 8);
  uint64_t end = shoff + out_sh.size() * sizeof(Elf64_Shdr);
  if (end > max_out) return "too large to cache";

  // Segments point at the same bytes as before: into the section that held
  // their start, or left as they were when none did.
  std::vector<Elf64_Phdr> out_ph = h.ph;
  for (auto& p : out_ph) {
    for (size_t i = 1; i < h.sh.size(); ++i) {
      const auto& s = h.sh[i];
      if (s.sh_type == SHT_NOBITS || compressed(s)) continue;
      if (p.p_offset >= s.sh_offset &&
          p.p_offset - s.sh_offset < std::max<uint64_t>(s.sh_size, 1)) {
        p.p_offset = out_sh[i].sh_offset + (p.p_offset - s.sh_offset);
        break;
      }
    }
  }

  std::vector<uint8_t> buf;
  for (size_t i : order) {
    const auto& in = h.sh[i];
    const auto& s = out_sh[i];
    if (s.sh_type == SHT_NOBITS || s.sh_size == 0) continue;
    if (types[i] != 0) {
      uint64_t skip = sizeof(Elf64_Chdr);
      std::string e = inflate_section(in_fd, in.sh_offset + skip, in.sh_size - skip, types[i],
                                      out_fd, s.sh_offset, s.sh_size);
      if (!e.empty()) return "section " + std::to_string(i) + ": " + e;
      continue;
    }
    for (uint64_t done = 0; done < s.sh_size;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kInflateChunk, s.sh_size - done));
      buf.resize(n);
      if (!pread_all(in_fd, buf.data(), n, in.sh_offset + done) ||
          !pwrite_all(out_fd, buf.data(), n, s.sh_offset + done))
        return "copy failed: " + std::string(std::strerror(errno));
      done += n;
    }
  }
  Elf64_Ehdr eh = h.eh;
  eh.e_phoff = phoff;
  eh.e_shoff = shoff;
  if (!pwrite_all(out_fd, &eh, sizeof eh, 0) ||
      (!out_ph.empty() &&
       !pwrite_all(out_fd, out_ph.data(), out_ph.size() * sizeof(Elf64_Phdr), phoff)) ||
      !pwrite_all(out_fd, out_sh.data(), out_sh.size() * sizeof(Elf64_Shdr), shoff))
    return "write failed: " + std::string(std::strerror(errno));
  if (::ftruncate(out_fd, static_cast<off_t>(end)) != 0)
    return "truncate failed: " + std::string(std::strerror(errno));
  return "";
}

DebugCache::DebugCache(std::string dir, DebugCacheLimits limits)
    : dir_(std::move(dir)), limits_(limits) {}

std::string DebugCache::default_dir() {
  const char* off = std::getenv("SONDE_DEBUG_CACHE");
  if (off != nullptr && (std::strcmp(off, "off") == 0 || std::strcmp(off, "0") == 0)) return "";
  if (const char* d = std::getenv("SONDE_CACHE_DIR"); d != nullptr && d[0] == '/')
    return std::string(d) + "/debug";
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d != nullptr && d[0] == '/')
    return std::string(d) + "/sonde/debug";
  if (const char* d = std::getenv("HOME"); d != nullptr && d[0] == '/')
    return std::string(d) + "/.cache/sonde/debug";
  return "";
}

ScopedFd DebugCache::uncompressed(int fd, const std::string& build_id, std::string* path) {
  if (!enabled() || !cacheable_build_id(build_id)) return {};
  std::string p = dir_ + "/" + build_id + ".debug";
  ScopedFd have(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
  if (have.valid()) {
    // Only complete copies are ever renamed into place; a file that is not
    // an ELF with sane headers (damaged since) is replaced.
    Headers h;
    std::string err;
    if (read_headers(have.get(), h, &err) && std::none_of(h.sh.begin(), h.sh.end(), compressed)) {
      ::futimens(have.get(), nullptr);  // most recently used
      ++stats_.hits;
      *path = p;
      return have;
    }
    have.reset();
    ::unlink(p.c_str());
  }

  Headers h;
  std::string err;
  if (!read_headers(fd, h, &err) || std::none_of(h.sh.begin(), h.sh.end(), compressed)) return {};
  uint64_t need = 0;
  for (const auto& s : h.sh) {
    if (s.sh_type == SHT_NOBITS) continue;
    if (compressed(s)) {
      Elf64_Chdr ch{};
      if (!pread_all(fd, &ch, sizeof ch, s.sh_offset)) return {};
      need += ch.ch_size;
    } else {
      need += s.sh_size;
    }
  }
  if (need > limits_.max_file || need > limits_.max_total || !make_dirs(dir_) ||
      !room_for(dir_, need, limits_)) {
    ++stats_.skipped;
    return {};
  }
  evict(dir_, need, limits_.max_total);

  std::string tmp = dir_ + "/.tmp-" + build_id + "-XXXXXX";
  ScopedFd out(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!out.valid()) {
    ++stats_.skipped;
    return {};
  }
  if (!write_uncompressed_elf(fd, out.get(), limits_.max_file).empty() ||
      ::fchmod(out.get(), 0644) != 0 || ::rename(tmp.c_str(), p.c_str()) != 0) {
    ::unlink(tmp.c_str());
    ++stats_.skipped;
    return {};
  }
  ++stats_.written;
  ScopedFd ro(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
  if (ro.valid()) *path = p;
  return ro;
}

std::string DebugCache::results_path(const std::string& build_id) const {
  if (!enabled() || !cacheable_build_id(build_id)) return "";
  return dir_ + "/" + build_id + ".sym";
}

void DebugCache::append_results(const std::string& build_id, const std::string& lines) {
  std::string p = results_path(build_id);
  if (p.empty() || lines.empty() || !make_dirs(dir_)) return;
  ScopedFd fd(::open(p.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd.valid() || file_size(fd.get()) + lines.size() > kMaxResultsFile) return;
  // One write with O_APPEND: concurrent agents interleave whole batches, and
  // a crash leaves at worst a torn last line, which the reader skips.
  ssize_t n;
  do n = ::write(fd.get(), lines.data(), lines.size());
  while (n < 0 && errno == EINTR);
}

}  // namespace sonde::profiler
