#include "sonde/jvm/hsperf.h"

#include <dirent.h>

#include <cstring>

#include "sonde/common/io.h"

namespace sonde::jvm {
namespace {

constexpr size_t kPrologueSize = 32;
constexpr size_t kEntryHeaderSize = 20;

struct Reader {
  std::string_view buf;
  bool little = true;

  bool u32(size_t off, uint32_t* v) const {
    if (off > buf.size() || buf.size() - off < 4) return false;
    const auto* b = reinterpret_cast<const unsigned char*>(buf.data() + off);
    *v = little
             ? (uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24)
             : (uint32_t{b[3]} | uint32_t{b[2]} << 8 | uint32_t{b[1]} << 16 | uint32_t{b[0]} << 24);
    return true;
  }
  bool u64(size_t off, uint64_t* v) const {
    uint32_t a, b;
    if (!u32(off, &a) || !u32(off + 4, &b)) return false;
    *v = little ? (uint64_t{b} << 32 | a) : (uint64_t{a} << 32 | b);
    return true;
  }
};

}  // namespace

Result<PerfData> parse_hsperfdata(std::string_view buf) {
  if (buf.size() < kPrologueSize)
    return Error{errc::kIo, "hsperfdata: shorter than its prologue", {}};
  const auto* b = reinterpret_cast<const unsigned char*>(buf.data());
  // The magic is written as bytes CA FE C0 C0 whatever the byte order.
  if (!(b[0] == 0xca && b[1] == 0xfe && b[2] == 0xc0 && b[3] == 0xc0))
    return Error{errc::kIo, "hsperfdata: bad magic", {}};
  Reader r{buf, b[4] != 0};
  uint32_t entry_offset = 0, num_entries = 0, used = 0;
  if (!r.u32(8, &used) || !r.u32(24, &entry_offset) || !r.u32(28, &num_entries))
    return Error{errc::kIo, "hsperfdata: truncated prologue", {}};
  // Only the used part holds entries; a JVM still starting up may be writing.
  size_t limit = used >= kPrologueSize && used <= buf.size() ? used : buf.size();
  PerfData out;
  size_t off = entry_offset;
  for (uint32_t i = 0; i < num_entries && i < 100000; ++i) {
    if (off < kPrologueSize || off + kEntryHeaderSize > limit) break;
    uint32_t len, name_off, vlen, data_off;
    if (!r.u32(off, &len) || !r.u32(off + 4, &name_off) || !r.u32(off + 8, &vlen) ||
        !r.u32(off + 16, &data_off))
      break;
    if (len < kEntryHeaderSize || len > limit - off) break;
    char type = static_cast<char>(b[off + 12]);
    if (name_off >= len || data_off > len) break;
    std::string_view entry = buf.substr(off, len);
    std::string_view name_area = entry.substr(name_off);
    size_t z = name_area.find('\0');
    if (z == std::string_view::npos || z == 0) break;
    std::string name(name_area.substr(0, z));
    PerfCounter c;
    if (type == 'J' && vlen == 0) {
      uint64_t v;
      if (data_off + 8 > len || !r.u64(off + data_off, &v)) break;
      c.number = static_cast<long long>(v);
    } else if (type == 'B' && vlen > 0) {
      if (data_off + static_cast<size_t>(vlen) > len) break;
      std::string_view s = entry.substr(data_off, vlen);
      c.is_string = true;
      c.text = std::string(s.substr(0, s.find('\0')));
    } else {
      off += len;
      continue;  // other types (arrays of longs, ...) are not used here
    }
    out.emplace(std::move(name), std::move(c));
    off += len;
  }
  if (out.empty() && num_entries > 0)
    return Error{errc::kIo, "hsperfdata: no readable entries", {}};
  return out;
}

Result<PerfData> read_hsperfdata(pid_t pid, pid_t nspid) {
  std::string tmp = fmt::format("/proc/{}/root/tmp", pid);
  DIR* d = ::opendir(tmp.c_str());
  if (!d) return errno_error("open " + tmp);
  Error last{errc::kNotFound, fmt::format("no hsperfdata file for JVM {}", pid),
             "the JVM may run with -XX:-UsePerfData or another java.io.tmpdir"};
  Result<PerfData> found = last;
  while (dirent* e = ::readdir(d)) {
    if (std::strncmp(e->d_name, "hsperfdata_", 11) != 0) continue;
    std::string path = fmt::format("{}/{}/{}", tmp, e->d_name, nspid);
    auto raw = read_file(path, 16u << 20);
    if (!raw) {
      if (raw.error().sys_errno != ENOENT) found = raw.error();
      continue;
    }
    found = parse_hsperfdata(*raw);
    if (found) break;
  }
  ::closedir(d);
  return found;
}

std::optional<std::string> perf_string(const PerfData& d, const std::string& name) {
  auto it = d.find(name);
  if (it == d.end() || !it->second.is_string) return std::nullopt;
  return it->second.text;
}

std::optional<long long> perf_number(const PerfData& d, const std::string& name) {
  auto it = d.find(name);
  if (it == d.end() || it->second.is_string) return std::nullopt;
  return it->second.number;
}

}  // namespace sonde::jvm
