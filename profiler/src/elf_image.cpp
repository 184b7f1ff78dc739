#include "elf_image.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "sonde/common/fd.h"

namespace sonde::profiler {
namespace {

constexpr uint8_t kPeOmit = 0xff;
constexpr uint8_t kPeUdata4 = 0x03, kPeSdata4 = 0x0b, kPeUdata8 = 0x04, kPeSdata8 = 0x0c;
constexpr uint8_t kPePcrel = 0x10, kPeDatarel = 0x30;

}  // namespace

constexpr uint64_t kReadChunk = 64 << 10;

ElfImage::~ElfImage() {
  if (anon_) ::munmap(anon_, size_);
  if (fd_ >= 0) ::close(fd_);
}

std::shared_ptr<ElfImage> ElfImage::open_file(const std::string& path, std::string* err) {
  // O_NONBLOCK: a FIFO put in the file's place must not hang the open.
  // O_NOFOLLOW: the maps name the file itself, never a symlink, so one found
  // there now is not what the target mapped. map_files entries are the
  // kernel's own links to the mapped file and are followed.
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  if (path.find("/map_files/") == std::string::npos) flags |= O_NOFOLLOW;
  ScopedFd fd(::open(path.c_str(), flags));
  if (!fd.valid()) {
    *err = "open " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 64) {
    *err = path + ": not a regular ELF file";
    return nullptr;
  }
  auto size = static_cast<size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    *err = "mmap " + std::to_string(size) + " bytes for " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  std::shared_ptr<ElfImage> img(new ElfImage());
  img->anon_ = static_cast<uint8_t*>(p);
  img->data_ = img->anon_;
  img->size_ = size;
  img->fd_ = fd.release();
  img->chunk_state_.assign((size + kReadChunk - 1) / kReadChunk, 0);
  if (!img->parse(err)) {
    *err = path + ": " + *err;
    return nullptr;
  }
  return img;
}

bool ElfImage::ensure(uint64_t off, uint64_t n) const {
  if (off > size_ || n > size_ - off) return false;
  if (fd_ < 0 || n == 0) return true;  // from_bytes: all there
  std::lock_guard<std::mutex> g(chunk_mu_);
  for (uint64_t c = off / kReadChunk; c <= (off + n - 1) / kReadChunk; ++c) {
    if (chunk_state_[c] == 1) continue;
    if (chunk_state_[c] == 2) return false;
    uint64_t at = c * kReadChunk, want = std::min<uint64_t>(kReadChunk, size_ - at), got = 0;
    while (got < want) {
      ssize_t r = ::pread(fd_, anon_ + at + got, want - got, static_cast<off_t>(at + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += static_cast<uint64_t>(r);
    }
    if (got < want) {
      chunk_state_[c] = 2;
      short_read_ = true;
      return false;
    }
    chunk_state_[c] = 1;
  }
  return true;
}

std::shared_ptr<ElfImage> ElfImage::from_bytes(std::vector<uint8_t> bytes, std::string* err) {
  std::shared_ptr<ElfImage> img(new ElfImage());
  img->owned_ = std::move(bytes);
  img->data_ = img->owned_.data();
  img->size_ = img->owned_.size();
  if (!img->parse(err)) return nullptr;
  return img;
}

bool ElfImage::parse(std::string* err) {
  if (size_ < sizeof(Elf64_Ehdr) || !ensure(0, sizeof(Elf64_Ehdr)) ||
      std::memcmp(data_, ELFMAG, SELFMAG) != 0 || data_[EI_CLASS] != ELFCLASS64 ||
      data_[EI_DATA] != ELFDATA2LSB) {
    *err = "not a 64-bit little-endian ELF file";
    return false;
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, data_, sizeof eh);
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > size_ ||
      eh.e_phnum > (size_ - eh.e_phoff) / sizeof(Elf64_Phdr)) {
    *err = "bad program header table";
    return false;
  }
  if (!ensure(eh.e_phoff, eh.e_phnum * sizeof(Elf64_Phdr))) {
    *err = "the file is shorter than it said (truncated while we read it?)";
    return false;
  }
  std::optional<Elf64_Phdr> eh_frame, note_hdrs[16];
  size_t notes = 0;
  bool have_text = false;
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, data_ + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type == PT_LOAD) {
      bool exec = ph.p_flags & PF_X;
      loads_.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, exec});
      if (exec) {
        if (!have_text || ph.p_vaddr < text_start_) text_start_ = ph.p_vaddr;
        if (!have_text || ph.p_vaddr + ph.p_memsz > text_end_) text_end_ = ph.p_vaddr + ph.p_memsz;
        have_text = true;
      }
    } else if (ph.p_type == PT_GNU_EH_FRAME) {
      eh_frame = ph;
    } else if (ph.p_type == PT_NOTE && notes < 16) {
      note_hdrs[notes++] = ph;
    }
  }
  if (loads_.empty()) {
    *err = "no loadable segments";
    return false;
  }

  // The GNU build-id note names the file in debug-info stores and caches.
  for (size_t n = 0; n < notes && build_id_.empty(); ++n) {
    uint64_t off = note_hdrs[n]->p_offset, end = off + note_hdrs[n]->p_filesz;
    if (end > size_ || end < off || !ensure(off, end - off)) continue;
    while (off + sizeof(Elf64_Nhdr) <= end) {
      Elf64_Nhdr nh;
      std::memcpy(&nh, data_ + off, sizeof nh);
      uint64_t name_off = off + sizeof nh, desc_off = name_off + ((nh.n_namesz + 3u) & ~3u);
      uint64_t next = desc_off + ((nh.n_descsz + 3u) & ~3u);
      if (next > end) break;
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
          std::memcmp(data_ + name_off, "GNU", 4) == 0 && nh.n_descsz <= 64) {
        static const char* hex = "0123456789abcdef";
        for (uint32_t i = 0; i < nh.n_descsz; ++i) {
          build_id_ += hex[data_[desc_off + i] >> 4];
          build_id_ += hex[data_[desc_off + i] & 15];
        }
        break;
      }
      off = next;
    }
  }

  // Section headers are optional (and untrusted): only .debug_frame is wanted.
  if (eh.e_shoff && eh.e_shentsize == sizeof(Elf64_Shdr) && eh.e_shoff < size_ &&
      eh.e_shnum <= (size_ - eh.e_shoff) / sizeof(Elf64_Shdr) && eh.e_shstrndx < eh.e_shnum &&
      ensure(eh.e_shoff, eh.e_shnum * sizeof(Elf64_Shdr))) {
    auto shdr = [&](size_t i) {
      Elf64_Shdr sh;
      std::memcpy(&sh, data_ + eh.e_shoff + i * sizeof sh, sizeof sh);
      return sh;
    };
    Elf64_Shdr strs = shdr(eh.e_shstrndx);
    for (size_t i = 0; i < eh.e_shnum && strs.sh_offset < size_; ++i) {
      Elf64_Shdr sh = shdr(i);
      if (sh.sh_type != SHT_PROGBITS || sh.sh_name >= strs.sh_size) continue;
      uint64_t name = strs.sh_offset + sh.sh_name;
      static const char kName[] = ".debug_frame";
      if (name + sizeof kName > size_ || !ensure(name, sizeof kName) ||
          std::memcmp(data_ + name, kName, sizeof kName) != 0)
        continue;
      // Read whole now: the unwinder indexes it through a plain pointer.
      if (sh.sh_offset < size_ && sh.sh_size <= size_ - sh.sh_offset && sh.sh_size > 0 &&
          ensure(sh.sh_offset, sh.sh_size)) {
        debug_frame_off_ = sh.sh_offset;
        debug_frame_size_ = sh.sh_size;
      }
    }
  }

  if (eh_frame) {
    uint64_t v = eh_frame->p_vaddr;
    uint8_t head[4];
    if (read(v, head, 4) && head[0] == 1 && head[3] == (kPeDatarel | kPeSdata4)) {
      uint64_t pos = v + 4;
      // eh_frame_ptr: only its size matters here.
      auto skip = [&](uint8_t enc, uint64_t* value) -> bool {
        if (enc == kPeOmit) return false;
        switch (enc & 0x0f) {
          case kPeUdata4:
          case kPeSdata4: {
            uint32_t x;
            if (!read(pos, &x, 4)) return false;
            if (value) *value = x;
            pos += 4;
            return true;
          }
          case kPeUdata8:
          case kPeSdata8: {
            uint64_t x;
            if (!read(pos, &x, 8)) return false;
            if (value) *value = x;
            pos += 8;
            return true;
          }
          default:
            return false;
        }
      };
      uint64_t count = 0;
      // fde_count must be absolute (not pc-relative) to be a count at all.
      if (skip(head[1], nullptr) && (head[2] & 0x70) != kPePcrel && skip(head[2], &count) &&
          count > 0 && count < (1u << 26))
        eh_hdr_ = EhFrameHdr{v, pos, count};
    }
  }
  return true;
}

bool ElfImage::read(uint64_t vaddr, void* out, size_t n) const {
  for (const auto& s : loads_) {
    if (vaddr < s.vaddr || vaddr - s.vaddr >= s.filesz) continue;
    uint64_t rel = vaddr - s.vaddr;
    if (n > s.filesz - rel) return false;
    uint64_t off = s.offset + rel;
    if (!ensure(off, n)) return false;
    std::memcpy(out, data_ + off, n);
    return true;
  }
  return false;
}

const std::vector<ElfImage::DebugFrameFde>& ElfImage::debug_frame_index() const {
  if (debug_frame_indexed_) return debug_frame_index_;
  debug_frame_indexed_ = true;
  const uint8_t* d = debug_frame_data();
  const uint64_t n = debug_frame_size_;
  auto rd = [&](uint64_t off, void* out, size_t len) {
    if (off > n || len > n - off) return false;
    std::memcpy(out, d + off, len);
    return true;
  };
  // CIEs whose FDEs we can index: empty augmentation, 8-byte addresses.
  std::map<uint64_t, bool> usable_cie;
  uint64_t off = 0;
  while (off + 4 <= n) {
    uint32_t len32 = 0;
    if (!rd(off, &len32, 4)) break;
    uint64_t len = len32, hdr = 4;
    bool dwarf64 = len32 == 0xffffffffu;
    if (dwarf64) {
      if (!rd(off + 4, &len, 8)) break;
      hdr = 12;
    }
    if (len == 0) {
      off += hdr;
      continue;
    }
    if (len > n - off - hdr) break;
    uint64_t body = off + hdr, next = body + len;
    uint64_t id = 0;
    size_t idlen = dwarf64 ? 8 : 4;
    if (!rd(body, &id, idlen)) break;
    bool is_cie = dwarf64 ? id == ~uint64_t{0} : id == 0xffffffffu;
    if (is_cie) {
      uint8_t version = 0;
      rd(body + idlen, &version, 1);
      uint64_t aug = body + idlen + 1;
      bool empty_aug = aug < n && d[aug] == 0;
      bool ok = empty_aug && (version == 1 || version == 3 || version == 4);
      if (ok && version == 4) {
        uint8_t addr_size = 0;
        rd(aug + 1, &addr_size, 1);
        ok = addr_size == 8;
      }
      usable_cie[off] = ok;
    } else {
      auto it = usable_cie.find(id);
      uint64_t start = 0, range = 0;
      if (it != usable_cie.end() && it->second && rd(body + idlen, &start, 8) &&
          rd(body + idlen + 8, &range, 8) && range > 0)
        debug_frame_index_.push_back({start, start + range, off});
    }
    off = next;
  }
  std::sort(debug_frame_index_.begin(), debug_frame_index_.end(),
            [](const DebugFrameFde& a, const DebugFrameFde& b) { return a.start < b.start; });
  return debug_frame_index_;
}

std::optional<uint64_t> ElfImage::vaddr_of_offset(uint64_t off) const {
  for (const auto& s : loads_) {
    // Mappings start page-aligned, so the covering segment may begin a little
    // after `off`: compare against its page-aligned start.
    uint64_t start = s.offset & ~uint64_t{0xfff};
    if (off >= start && off < s.offset + std::max(s.filesz, uint64_t{1}))
      return s.vaddr - (s.offset - off);
  }
  return std::nullopt;
}

}  // namespace sonde::profiler
