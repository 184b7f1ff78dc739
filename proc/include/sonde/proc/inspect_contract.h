// The `inspect` op's contract: InspectArgs (which process, whether to show
// its environment) and InspectResult (the process from the inside), one JSON
// form each, used by the command, the handler and inspect_process.
// validate() is the one judge of a request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/proc/socket_info.h"

namespace sonde::proc {

struct InspectArgs {
  int pid = 0;
  bool env = false;  // values may hold secrets: only when asked
};

json to_json(const InspectArgs& a);
// Wrong types are errc::kBadArgs naming the field; pid is required.
Result<InspectArgs> inspect_args_from_json(const json& j);
Status validate(const InspectArgs& a);

// Upper bounds on what one result lists: a process can have a million
// threads or fds. The lowest-numbered are listed, the rest counted.
inline constexpr size_t kMaxThreads = 10000;
inline constexpr size_t kMaxFds = 16384;

struct IdSet {  // uids or gids as /proc/PID/status has them
  long long real = -1;
  long long effective = -1;
  long long saved = -1;
  long long fs = -1;
};

struct InspectThread {
  int tid = 0;
  std::string name;
  char state = '?';
  std::string wchan;  // "" when running, or hidden by kptr_restrict
};

struct Limit {  // one row of /proc/PID/limits, as the kernel words it
  std::string name, soft, hard, units;
};

// Each figure only when the agent could read it (smaps_rollup needs
// ptrace-read access).
struct MemoryKb {
  std::optional<uint64_t> rss, pss, pss_anon, pss_file, pss_shmem, swap, vm_size, vm_peak, vm_hwm;
};

struct Namespace {
  std::string type;  // cgroup ipc mnt net pid ...
  std::optional<uint64_t> inode;
  bool same_as_agent = false;
};

struct FdEntry {
  int fd = 0;
  std::string kind;                  // file socket pipe anon device other
  std::string target;                // where /proc/PID/fd/N points
  std::optional<std::string> flags;  // "O_RDWR|O_CLOEXEC", from fdinfo
  std::optional<long long> pos;
  std::optional<SocketInfo> socket;  // kind socket
};

// The parts of a process the agent was refused (another user's process, or
// one it may not ptrace): why, the next step, and which parts.
struct AccessDenied {
  std::string message;             // "permission denied on pid 4242: it runs as root ..."
  std::string hint;                // your own user's processes, or --sudo
  std::vector<std::string> parts;  // "exe", "open files", ...
};

// What could not be read is absent (std::nullopt) and said in notes: a
// partial result, not a failure.
struct InspectResult {
  int pid = 0;
  std::string comm;
  // From /proc/PID/stat.
  std::optional<int> ppid;
  std::optional<char> state;
  std::optional<std::string> state_name;
  std::optional<long long> start_time;  // epoch seconds
  std::optional<std::string> exe, cwd, root;
  std::vector<std::string> cmdline;
  // From /proc/PID/status.
  std::optional<std::string> user, group;
  std::optional<IdSet> uid, gid;
  std::vector<InspectThread> threads;
  std::optional<uint64_t> threads_more;  // absent when the task list was unreadable
  std::optional<std::vector<Limit>> limits;
  MemoryKb memory;
  std::vector<std::string> cgroup;
  std::vector<Namespace> namespaces;
  std::vector<FdEntry> fds;
  uint64_t fds_more = 0;
  // Set when the fd list could not be read at all: why. fds is then empty
  // and says nothing about the process's files.
  std::optional<std::string> fds_error;
  std::optional<std::vector<std::string>> env;  // only when asked
  std::vector<std::string> notes;
  std::optional<AccessDenied> denied;
};

json to_json(const FdEntry& f);
json to_json(const InspectResult& r);
// Strict: errc::kProtocol naming the field, with the agent mismatch hint.
// pid and comm are required; more threads or fds than an agent lists are an
// error, not a list to hold.
Result<InspectResult> inspect_result_from_json(const json& j);

// The memory figures with their JSON names ("rss_kb"), for writer and
// reader alike.
struct MemoryField {
  const char* key;
  std::optional<uint64_t> MemoryKb::*field;
};
inline constexpr MemoryField kMemoryFields[] = {{"rss_kb", &MemoryKb::rss},
                                                {"pss_kb", &MemoryKb::pss},
                                                {"pss_anon_kb", &MemoryKb::pss_anon},
                                                {"pss_file_kb", &MemoryKb::pss_file},
                                                {"pss_shmem_kb", &MemoryKb::pss_shmem},
                                                {"swap_kb", &MemoryKb::swap},
                                                {"vm_size_kb", &MemoryKb::vm_size},
                                                {"vm_peak_kb", &MemoryKb::vm_peak},
                                                {"vm_hwm_kb", &MemoryKb::vm_hwm}};

}  // namespace sonde::proc
