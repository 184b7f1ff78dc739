// Undo records under /run/sonde/inject: one JSON file per injection,
// written and fsync'd before the fault is applied, removed once it is
// undone. A record outlives the agent and its watchdog; the next agent
// replays it.
#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/common/json_read.h"
#include "sonde/common/own_dir.h"
#include "sonde/common/undo.h"
#include "sonde/net/fault_host.h"

namespace sonde::net {
namespace {

constexpr size_t kMaxRecordBytes = 64 * 1024;
constexpr size_t kMaxRecords = 4096;
constexpr int kRecordVersion = 1;

Status fsync_dir(const std::string& dir) {
  ScopedFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d.valid() || ::fsync(d.get()) != 0) return errno_error("fsync " + dir);
  return ok_status();
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

// Ids are 8 hex digits: they go into file and table names unquoted.
bool valid_id(const std::string& id) {
  return id.size() == 8 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

std::string new_fault_id() {
  uint32_t v = 0;
  if (::getrandom(&v, sizeof v, 0) != sizeof v)
    v = static_cast<uint32_t>(monotonic_ms() * 2654435761u) ^ static_cast<uint32_t>(::getpid());
  return fmt::format("{:08x}", v);
}

json to_json(const FaultRecord& r) {
  return {{"version", kRecordVersion},
          {"id", r.id},
          {"what", r.what},
          {"scope", r.scope},
          {"netns",
           {{"path", r.netns.path},
            {"dev", r.netns.dev},
            {"ino", r.netns.ino},
            {"what", r.netns.what}}},
          {"devices", r.devices},
          {"tc", r.tc},
          {"handle", r.handle},
          {"class_minor", r.class_minor},
          {"table", r.table},
          {"owner_pid", r.owner_pid},
          {"owner_start", r.owner_start},
          {"started_ns", r.started_ns},
          {"ends_ns", r.ends_ns},
          {"path", r.path}};
}

Result<FaultRecord> fault_record_from_json(const json& j) {
  JsonReader r(errc::kBadArgs, "network fault undo record");
  FaultRecord f;
  if (!r.object(j, {})) return r.error();
  int version = 0;
  r.integer(j, "version", {}, version, Need::kRequired);
  if (!r.failed() && version != kRecordVersion)
    r.fail(JsonPath{} / "version", fmt::format("version {} is not {}", version, kRecordVersion));
  r.string(j, "id", {}, f.id, Need::kRequired);
  r.string(j, "what", {}, f.what);
  r.string(j, "scope", {}, f.scope);
  if (const json* n = r.map(j, "netns", {}, Need::kRequired)) {
    const JsonPath w = JsonPath{} / "netns";
    r.string(*n, "path", w, f.netns.path, Need::kRequired);
    r.integer(*n, "dev", w, f.netns.dev, Need::kRequired);
    r.integer(*n, "ino", w, f.netns.ino, Need::kRequired);
    r.string(*n, "what", w, f.netns.what);
  }
  if (r.bounded_array(j, "devices", {}, 256)) r.strings(j, "devices", {}, f.devices);
  r.boolean(j, "tc", {}, f.tc);
  r.string(j, "handle", {}, f.handle, Need::kRequired);
  r.integer(j, "class_minor", {}, f.class_minor);
  r.string(j, "table", {}, f.table);
  r.integer(j, "owner_pid", {}, f.owner_pid);
  r.integer(j, "owner_start", {}, f.owner_start);
  r.integer(j, "started_ns", {}, f.started_ns);
  r.integer(j, "ends_ns", {}, f.ends_ns);
  r.string(j, "path", {}, f.path);
  if (r.failed()) return r.error();
  // The names go to nft and tc: only what sonde itself writes.
  if (!valid_id(f.id) || (!f.table.empty() && f.table != fault_table_name(f.id)))
    return Error{errc::kBadArgs, "network fault undo record: not an id sonde makes", {}};
  for (const auto& d : f.devices)
    if (!valid_device_name(d))
      return Error{errc::kBadArgs, "network fault undo record: a device name sonde never uses", {}};
  // A tc handle: "5d0e:", up to 4 hex digits and a colon.
  if (f.handle.size() < 2 || f.handle.size() > 5 || f.handle.back() != ':' ||
      f.handle.find_first_not_of("0123456789abcdef") != f.handle.size() - 1)
    return Error{errc::kBadArgs, "network fault undo record: not a tc handle sonde uses", {}};
  return f;
}

bool owner_alive(const FaultRecord& r) {
  return r.owner_pid > 0 && r.owner_start != 0 &&
         undo::start_time(static_cast<pid_t>(r.owner_pid)) == r.owner_start;
}

InjectionInfo injection_info(const FaultRecord& r) {
  InjectionInfo i;
  i.id = r.id;
  i.what = r.what;
  i.scope = r.scope;
  // "The agent's" namespace, said by another agent, is the owner's.
  i.netns =
      r.netns.path == "/proc/self/ns/net"
          ? fmt::format("the network namespace of agent {} (net:[{}])", r.owner_pid, r.netns.ino)
          : r.netns.what;
  i.devices = r.devices;
  i.table = r.table.empty() ? "" : "inet " + r.table;
  i.started_ns = r.started_ns;
  i.ends_ns = r.ends_ns;
  i.owner_pid = r.owner_pid;
  i.owner_alive = owner_alive(r);
  i.record = r.path;
  return i;
}

Status ensure_record_dir(const std::string& dir) {
  const std::string hint = "undo records need root: rerun with --sudo";
  if (auto st = make_own_dir(parent_of(dir), 0755, 022, hint); !st) return st.error();
  return make_own_dir(dir, 0700, 022, hint);
}

std::string fault_record_path(const std::string& id, const std::string& dir) {
  return dir + "/net-" + id + ".json";
}

Status write_fault_record(FaultRecord& r, const std::string& dir) {
  if (auto st = ensure_record_dir(dir); !st) return st.error();
  r.path = fault_record_path(r.id, dir);
  std::string tmp = r.path + ".tmp";
  std::string text = to_json(r).dump() + "\n";
  ScopedFd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!f.valid()) return errno_error("create " + tmp);
  if (auto st = write_all(f.get(), text); !st) {
    ::unlink(tmp.c_str());
    return st.error();
  }
  if (::fsync(f.get()) != 0 || ::rename(tmp.c_str(), r.path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return errno_error("write " + r.path, e);
  }
  return fsync_dir(dir);
}

Status remove_fault_record(const FaultRecord& r) {
  if (r.path.empty()) return ok_status();
  (void)::unlink((r.path + ".tmp").c_str());
  if (::unlink(r.path.c_str()) != 0 && errno != ENOENT) return errno_error("unlink " + r.path);
  return fsync_dir(parent_of(r.path));
}

bool fault_record_exists(const FaultRecord& r) {
  struct stat st {};
  return !r.path.empty() && ::lstat(r.path.c_str(), &st) == 0;
}

std::vector<FaultRecord> read_fault_records(const std::string& dir,
                                            std::vector<std::string>* notes) {
  std::vector<FaultRecord> out;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return out;  // no injection was ever made here
  if (auto ok = check_own_dir(dir, 022); !ok) {
    if (notes) notes->push_back(ok.error().message);
    return out;
  }
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (notes) notes->push_back(fmt::format("{}: {}", dir, std::strerror(errno)));
    return out;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("net-", 0) == 0 && n.size() > 9 && n.substr(n.size() - 5) == ".json")
      names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  if (names.size() > kMaxRecords) {
    if (notes)
      notes->push_back(
          fmt::format("{} records: only the first {} read", names.size(), kMaxRecords));
    names.resize(kMaxRecords);
  }
  for (const auto& n : names) {
    std::string path = dir + "/" + n;
    auto text = read_file(path, kMaxRecordBytes);
    if (!text) continue;  // removed meanwhile
    json j = json::parse(*text, nullptr, false);
    auto rec = fault_record_from_json(j);
    if (!rec) {
      if (notes) notes->push_back(fmt::format("{}: {}", path, rec.error().message));
      continue;
    }
    rec->path = path;
    out.push_back(std::move(*rec));
  }
  return out;
}

std::vector<std::string> replay_fault_records(const std::string& dir) {
  std::vector<std::string> log;
  // Root's records: an agent that cannot read them has nothing to replay.
  if (::access(dir.c_str(), R_OK | X_OK) != 0) return log;
  for (const auto& rec : read_fault_records(dir, &log)) {
    if (owner_alive(rec)) continue;
    auto u = undo_fault(rec);
    std::string line = fmt::format("left by agent {} (gone): {}", rec.owner_pid, u.log);
    if (!u.ok)
      line += "; the record stays for the next agent";
    else if (auto st = remove_fault_record(rec); !st)
      line += "; the record stays: " + st.error().message;
    log.push_back(line);
  }
  return log;
}

}  // namespace sonde::net
