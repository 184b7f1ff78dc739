#include "sonde/jvm/hsperf.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sonde/common/fd.h"
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

namespace {

// The JVM's own file, checked as the JDK checks it before trusting one
// (perfMemory_posix): the hsperfdata_<user> directory is a real directory
// (not a symlink) owned by the JVM's user and writable by nobody else; the
// file in it is a regular file (not a symlink, not a FIFO that would hang
// us), owned by that user, with one link. Anything else was planted by
// another user of /tmp: kPermission with the reason, and nothing is read.
// Failures to open or read are other codes (kIo, kNotFound).
Result<std::string> read_owned(const std::string& dir, const std::string& name, uid_t euid) {
  ScopedFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!dfd.valid()) {
    int e = errno;
    if (e == ELOOP || e == ENOTDIR)
      return Error{errc::kPermission, fmt::format("{} is not a directory (a symlink?)", dir), {}};
    return Error::sys(errc::kIo, e, "open " + dir + ": " + std::strerror(e), {});
  }
  struct stat st {};
  if (::fstat(dfd.get(), &st) != 0) return errno_error("fstat " + dir);
  if (st.st_uid != euid)
    return Error{errc::kPermission,
                 fmt::format("{} belongs to uid {}, not to the JVM's uid {}", dir, st.st_uid, euid),
                 {}};
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return Error{errc::kPermission,
                 fmt::format("{} is writable by others (mode {:o})", dir, st.st_mode & 07777), {}};
  std::string path = dir + "/" + name;
  ScopedFd fd(::openat(dfd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    int e = errno;
    if (e == ELOOP) return Error{errc::kPermission, path + " is a symbolic link", {}};
    // Not kPermission (that means planted): EACCES here is only our rights.
    return Error::sys(e == ENOENT ? errc::kNotFound : errc::kIo, e,
                      "open " + path + ": " + std::strerror(e), {});
  }
  if (::fstat(fd.get(), &st) != 0) return errno_error("fstat " + path);
  if (!S_ISREG(st.st_mode))
    return Error{errc::kPermission,
                 fmt::format("{} is not a regular file ({})", path,
                             S_ISFIFO(st.st_mode) ? "a FIFO" : "mode " + fmt::format("{:o}", st.st_mode)),
                 {}};
  if (st.st_uid != euid)
    return Error{errc::kPermission,
                 fmt::format("{} belongs to uid {}, not to the JVM's uid {}", path, st.st_uid, euid),
                 {}};
  if (st.st_nlink != 1)
    return Error{errc::kPermission, fmt::format("{} has {} hard links", path, st.st_nlink), {}};
  constexpr size_t kMax = 16u << 20;
  std::string out;
  char buf[16384];
  while (out.size() < kMax) {
    ssize_t n = ::read(fd.get(), buf, std::min(sizeof buf, kMax - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

Result<PerfData> read_hsperfdata(pid_t pid, pid_t nspid, uid_t euid,
                                 std::vector<std::string>* notes) {
  std::string tmp = fmt::format("/proc/{}/root/tmp", pid);
  DIR* d = ::opendir(tmp.c_str());
  if (!d) return errno_error("open " + tmp);
  Error last{errc::kNotFound, fmt::format("no hsperfdata file for JVM {}", pid),
             "the JVM may run with -XX:-UsePerfData or another java.io.tmpdir"};
  Result<PerfData> found = last;
  const std::string name = std::to_string(nspid);
  while (dirent* e = ::readdir(d)) {
    if (std::strncmp(e->d_name, "hsperfdata_", 11) != 0) continue;
    std::string dir = fmt::format("{}/{}", tmp, e->d_name);
    // Most users' directories hold nothing for this JVM: no note for them.
    struct stat st {};
    if (::fstatat(dirfd(d), fmt::format("{}/{}", e->d_name, name).c_str(), &st,
                  AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    auto raw = read_owned(dir, name, euid);
    if (!raw) {
      if (raw.error().code == errc::kPermission && notes)
        notes->push_back(fmt::format("JVM {}: skipped a planted hsperfdata file: {}", pid,
                                     raw.error().message));
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
