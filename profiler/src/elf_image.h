// A read-only view of an ELF file as its segments appear in memory: what the
// unwinder reads for .eh_frame_hdr/.eh_frame and the code bytes of signal
// trampolines, without touching the target. Every read is bounds-checked:
// the file may be garbage, truncated, or replaced under us. The file is read
// with pread, in chunks as they are first used, never mapped: a target's
// user who truncates a mapped file would SIGBUS the agent at its next read.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sonde::profiler {

class ElfImage {
 public:
  // nullptr with *err set when the file cannot be opened or is not a 64-bit
  // little-endian ELF with program headers. The file stays open (one fd per
  // image) for the reads to come.
  static std::shared_ptr<ElfImage> open_file(const std::string& path, std::string* err);
  static std::shared_ptr<ElfImage> from_bytes(std::vector<uint8_t> bytes, std::string* err);
  ~ElfImage();
  ElfImage(const ElfImage&) = delete;
  ElfImage& operator=(const ElfImage&) = delete;

  const std::string& build_id() const { return build_id_; }  // lowercase hex or ""
  // Copies n bytes at ELF vaddr from the file-backed part of a PT_LOAD.
  bool read(uint64_t vaddr, void* out, size_t n) const;
  // The ELF vaddr that file offset `off` is loaded at, when a PT_LOAD covers it.
  std::optional<uint64_t> vaddr_of_offset(uint64_t off) const;

  // PT_GNU_EH_FRAME parsed: where the binary-search table is and how long.
  struct EhFrameHdr {
    uint64_t hdr_vaddr = 0;
    uint64_t table_vaddr = 0;
    uint64_t fde_count = 0;
  };
  const std::optional<EhFrameHdr>& eh_frame_hdr() const { return eh_hdr_; }
  // .debug_frame, for code built without .eh_frame: the FDEs sorted by
  // start (ELF vaddrs) with their offsets in the section. Built on first use.
  struct DebugFrameFde {
    uint64_t start, end, offset;
  };
  const std::vector<DebugFrameFde>& debug_frame_index() const;
  // The section's bytes (empty when the file has none).
  const uint8_t* debug_frame_data() const {
    // By size: a hostile file may place the section at offset 0.
    return debug_frame_size_ != 0 ? data_ + debug_frame_off_ : nullptr;
  }
  size_t debug_frame_size() const { return debug_frame_size_; }
  // A read found the file shorter than when it was opened (truncated or
  // rewritten under us): what it covered reads as missing.
  bool short_read() const { return short_read_; }

  // The lowest and highest vaddr of executable PT_LOADs.
  uint64_t text_start() const { return text_start_; }
  uint64_t text_end() const { return text_end_; }

 private:
  ElfImage() = default;
  bool parse(std::string* err);
  // Makes bytes [off, off + n) of the file readable at data_ + off, reading
  // the chunks not read yet. false when out of range or the file fell short.
  bool ensure(uint64_t off, uint64_t n) const;

  struct Segment {
    uint64_t vaddr, offset, filesz, memsz;
    bool exec;
  };
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  // File images: an anonymous mapping of the file's size (pages untouched
  // until read cost nothing), filled by pread from fd_ chunk by chunk.
  uint8_t* anon_ = nullptr;
  int fd_ = -1;
  mutable std::vector<uint8_t> chunk_state_;  // 0 not read, 1 read, 2 short
  mutable std::mutex chunk_mu_;
  mutable bool short_read_ = false;
  std::vector<uint8_t> owned_;
  std::vector<Segment> loads_;
  std::optional<EhFrameHdr> eh_hdr_;
  std::string build_id_;
  uint64_t text_start_ = 0, text_end_ = 0;
  uint64_t debug_frame_off_ = 0, debug_frame_size_ = 0;
  mutable std::vector<DebugFrameFde> debug_frame_index_;
  mutable bool debug_frame_indexed_ = false;
};

}  // namespace sonde::profiler
