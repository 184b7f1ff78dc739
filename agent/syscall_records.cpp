#include "syscall_records.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "sonde/common/clock.h"
#include "sonde/common/io.h"
#include "sonde/common/own_dir.h"
#include "sonde/common/undo.h"

namespace sonde::agent {
namespace {

constexpr size_t kMaxRecordBytes = 64 * 1024;
constexpr size_t kMaxRecords = 1000;

// A folder of ours, not a symlink, that nobody else may write (and, with
// deny 077, read): made when missing.
bool own_dir(const std::string& d, mode_t deny = 077) {
  return make_own_dir(d, 0777 & ~deny, deny).ok();
}

std::string record_dir() {
  if (::geteuid() == 0) {
    if (!own_dir("/run/sonde", 022)) return "";
    return own_dir("/run/sonde/inject-syscall") ? "/run/sonde/inject-syscall" : "";
  }
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x == '/') {
    std::string d = std::string(x) + "/sonde-inject";
    if (own_dir(d)) return d;
  }
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  std::string d(exe, static_cast<size_t>(n));
  d = d.substr(0, d.rfind('/')) + "/inject";
  return own_dir(d) ? d : "";
}

struct Read {
  net::InjectionInfo info;
  uint64_t owner_start = 0;
};

std::vector<Read> read_records(std::vector<std::string>& notes) {
  std::vector<Read> out;
  std::string dir = record_dir();
  if (dir.empty()) return out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json") continue;
    if (out.size() >= kMaxRecords) {
      notes.push_back(
          fmt::format("more than {} syscall injection records in {}", kMaxRecords, dir));
      break;
    }
    std::string path = dir + "/" + name;
    auto text = read_file(path, kMaxRecordBytes);
    if (!text) continue;
    json j = json::parse(*text, nullptr, false);
    if (!j.is_object()) {
      notes.push_back(path + ": not a record, left alone");
      continue;
    }
    Read r;
    r.info.kind = "syscall";
    r.info.id = j.value("id", "");
    r.info.what = j.value("what", "");
    r.info.scope = j.value("scope", "");
    r.info.started_ns = j.value("started_ns", int64_t{0});
    r.info.ends_ns = j.value("ends_ns", int64_t{0});
    r.info.owner_pid = j.value("owner_pid", 0L);
    r.owner_start = j.value("owner_start", uint64_t{0});
    r.info.record = path;
    r.info.owner_alive = r.info.owner_pid > 0 &&
                         undo::start_time(static_cast<pid_t>(r.info.owner_pid)) == r.owner_start;
    if (!r.info.owner_alive) {
      // Its agent is gone, and with it the injection: the record is stale.
      ::unlink(path.c_str());
      continue;
    }
    out.push_back(std::move(r));
  }
  ::closedir(d);
  return out;
}

}  // namespace

Result<SyscallRecord> SyscallRecord::write(const std::string& what, const std::string& scope,
                                           int64_t ends_ns) {
  std::string dir = record_dir();
  if (dir.empty())
    return Error{errc::kIo, "no private folder for the injection's record",
                 "sonde inject --list will not show this run"};
  int64_t now = realtime_ns();
  std::string id = fmt::format("{:x}{:x}", ::getpid(), static_cast<uint64_t>(now) & 0xffffff);
  json j = {{"id", id},
            {"what", what},
            {"scope", scope},
            {"started_ns", now},
            {"ends_ns", ends_ns},
            {"owner_pid", ::getpid()},
            {"owner_start", undo::start_time(::getpid())}};
  SyscallRecord r;
  std::string path = dir + "/" + id + ".json";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error("create " + path, errno, "sonde inject --list will not show it");
  Status st = write_all(fd, j.dump() + "\n");
  ::close(fd);
  r.path_ = path;  // removed by the destructor, written or not
  if (!st) return st.error();
  return r;
}

SyscallRecord::~SyscallRecord() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

bool SyscallRecord::still_there() const {
  return path_.empty() || ::access(path_.c_str(), F_OK) == 0;
}

std::vector<net::InjectionInfo> syscall_injections(std::vector<std::string>& notes) {
  std::vector<net::InjectionInfo> out;
  for (auto& r : read_records(notes)) out.push_back(std::move(r.info));
  return out;
}

std::vector<net::InjectionInfo> clear_syscall_injections(std::vector<std::string>& notes) {
  std::vector<net::InjectionInfo> out;
  for (auto& r : read_records(notes)) {
    if (::unlink(r.info.record.c_str()) != 0) {
      notes.push_back(fmt::format("{}: {}", r.info.record, std::strerror(errno)));
      continue;
    }
    r.info.undo = "its run detaches and ends within 0.2 s";
    out.push_back(std::move(r.info));
  }
  return out;
}

}  // namespace sonde::agent
