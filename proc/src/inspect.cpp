#include "sonde/proc/inspect.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "sonde/common/io.h"
#include "sonde/proc/fds.h"
#include "sonde/proc/limits.h"
#include "sonde/proc/ptrace_access.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/system.h"
#include "sonde/proc/text.h"
#include "sonde/proc/users.h"

namespace sonde::proc {
namespace {

class Inspector {
 public:
  Inspector(int pid, const InspectOptions& opts)
      : pid_(pid), opts_(opts), base_("/proc/" + std::to_string(pid)) {}

  Result<InspectResult> run();

 private:
  void note(const std::string& part, const Error& e) {
    out_.notes.push_back(part + ": " + e.message);
    if (e.sys_errno == EACCES || e.sys_errno == EPERM) refused(part);
  }
  void refused(const std::string& part) {
    if (std::find(denied_.begin(), denied_.end(), part) == denied_.end()) denied_.push_back(part);
  }
  std::optional<std::string> read(const std::string& rel, const std::string& part,
                                  size_t max = 1 << 20) {
    auto r = read_file(base_ + "/" + rel, max);
    if (!r) {
      note(part, r.error());
      return std::nullopt;
    }
    return std::move(*r);
  }
  void identity(const StatInfo* st, const StatusInfo* status);
  void threads();
  void memory(const std::optional<std::string>& status_text);
  void namespaces();
  void fds();
  void environment();

  int pid_;
  InspectOptions opts_;
  std::string base_;
  InspectResult out_;
  std::vector<std::string> denied_;  // the parts refused for want of access
  SystemInfo sys_ = read_system_info();
  UserDb users_ = UserDb::load();
};

IdSet id_set(const std::array<long long, 4>& v) {
  return {v[0], v[1], v[2], v[3]};
}

Result<InspectResult> Inspector::run() {
  auto st = read_stat(base_ + "/stat");
  if (!st && st.error().sys_errno == ENOENT)
    return Error{errc::kNotFound, "no process " + std::to_string(pid_),
                 "list processes with `sonde ps TARGET`"};
  if (!st) note("stat", st.error());
  auto status_text = read("status", "status", 64 << 10);
  std::optional<StatusInfo> status;
  if (status_text) {
    if (auto s = parse_status(*status_text))
      status = std::move(*s);
    else
      note("status", s.error());
  }
  if (!st && !status) return st.error();

  identity(st ? &*st : nullptr, status ? &*status : nullptr);
  threads();
  if (auto l = read("limits", "limits", 64 << 10)) {
    if (auto rows = parse_limits(*l))
      out_.limits = std::move(*rows);
    else
      note("limits", rows.error());
  }
  memory(status_text);
  if (auto cg = read("cgroup", "cgroup", 64 << 10))
    for (auto line : split_char(*cg, '\n'))
      if (!line.empty()) out_.cgroup.push_back(utf8_safe(line));
  namespaces();
  fds();
  if (opts_.env) environment();

  // Everything above may race with the process exiting; say so once.
  if (::access(base_.c_str(), F_OK) != 0)
    out_.notes.push_back("process exited while being inspected");
  if (!denied_.empty()) {
    // Said once, as trace, profile and stack say a refused process.
    Error e = access_refused(pid_, EACCES, "");
    out_.denied = AccessDenied{e.message, e.hint, denied_};
    if (out_.fds_error && std::find(denied_.begin(), denied_.end(), "open files") != denied_.end())
      out_.fds_error = e.message;
  }
  return std::move(out_);
}

void Inspector::identity(const StatInfo* st, const StatusInfo* status) {
  out_.pid = pid_;
  if (status && status->tgid != 0 && status->tgid != pid_)
    out_.notes.push_back("pid " + std::to_string(pid_) + " is a thread of process " +
                         std::to_string(status->tgid));
  std::string comm = st ? st->comm : status->name;
  out_.comm = utf8_safe(comm);
  if (st) {
    out_.ppid = st->ppid;
    out_.state = st->state;
    out_.state_name = state_name(st->state);
    out_.start_time = start_epoch(sys_, st->starttime);
  }
  bool kthread = st && (st->flags & kPfKthread);
  if (auto exe = read_link(base_ + "/exe"))
    out_.exe = utf8_safe(*exe);
  else if (!kthread)  // kernel threads have no exe; that is not worth a note
    note("exe", exe.error());
  // One byte past the cap tells a cut command line from one that fits.
  constexpr size_t kMaxCmdline = 256 << 10;
  if (auto raw = read("cmdline", "cmdline", kMaxCmdline + 1)) {
    std::string_view v(*raw);
    if (v.size() > kMaxCmdline) {
      v = v.substr(0, kMaxCmdline);
      out_.notes.push_back("cmdline: longer than 256 KiB; the first 256 KiB are shown");
    }
    while (!v.empty() && v.back() == '\0') v.remove_suffix(1);
    if (!v.empty())
      for (auto arg : split_char(v, '\0')) out_.cmdline.push_back(utf8_safe(arg));
  }
  for (auto [link, dst] : {std::pair{"cwd", &out_.cwd}, {"root", &out_.root}}) {
    if (auto l = read_link(base_ + "/" + link))
      *dst = utf8_safe(*l);
    else
      note(link, l.error());
  }
  if (status) {
    out_.user = users_.user_name(status->uid[1]);
    out_.uid = id_set(status->uid);
    out_.group = users_.group_name(status->gid[1]);
    out_.gid = id_set(status->gid);
  }
}

void Inspector::threads() {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir((base_ + "/task").c_str()), ::closedir);
  if (!d) {
    note("threads", errno_error("open " + base_ + "/task"));
    return;
  }
  std::vector<int> tids;
  while (dirent* e = ::readdir(d.get()))
    if (auto t = to_ll(e->d_name); t && *t > 0 && *t <= 0x7fffffff)
      tids.push_back(static_cast<int>(*t));
  std::sort(tids.begin(), tids.end());
  out_.threads_more = 0;
  if (tids.size() > kMaxThreads) {
    out_.notes.push_back("threads: " + std::to_string(tids.size()) + ", showing the first " +
                         std::to_string(kMaxThreads));
    out_.threads_more = tids.size() - kMaxThreads;
    tids.resize(kMaxThreads);
  }
  for (int tid : tids) {
    std::string tb = base_ + "/task/" + std::to_string(tid);
    auto st = read_stat(tb + "/stat");
    if (!st) continue;  // thread exited since readdir: normal
    InspectThread t{tid, utf8_safe(st->comm), st->state, {}};
    // wchan reads "0" for a running thread, and is empty when hidden by kptr_restrict.
    if (auto w = read_file(tb + "/wchan", 256)) {
      auto v = trim(*w);
      if (v != "0") t.wchan = utf8_safe(v);
    }
    out_.threads.push_back(std::move(t));
  }
}

void Inspector::memory(const std::optional<std::string>& status_text) {
  MemoryKb& m = out_.memory;
  if (status_text) {
    for (auto [key, field] : {std::pair{"VmRSS", &MemoryKb::rss},
                              {"VmSwap", &MemoryKb::swap},
                              {"VmSize", &MemoryKb::vm_size},
                              {"VmPeak", &MemoryKb::vm_peak},
                              {"VmHWM", &MemoryKb::vm_hwm}})
      if (auto v = field_kb(*status_text, key)) m.*field = *v;
  }
  // smaps_rollup needs ptrace-read access and walks every mapping: a partial
  // memory section is better than none.
  if (auto r = read("smaps_rollup", "memory (smaps_rollup)", 64 << 10)) {
    for (auto [key, field] : {std::pair{"Rss", &MemoryKb::rss},
                              {"Pss", &MemoryKb::pss},
                              {"Pss_Anon", &MemoryKb::pss_anon},
                              {"Pss_File", &MemoryKb::pss_file},
                              {"Pss_Shmem", &MemoryKb::pss_shmem},
                              {"Swap", &MemoryKb::swap}})
      if (auto v = field_kb(*r, key)) m.*field = *v;
  }
}

void Inspector::namespaces() {
  for (const char* type : {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
                           "time_for_children", "user", "uts"}) {
    auto theirs = read_link(base_ + "/ns/" + type);
    if (!theirs) {
      // Older kernels lack some types (time); only other failures are news,
      // and they are the same for every type.
      if (theirs.error().sys_errno == ENOENT) continue;
      note("namespaces", theirs.error());
      break;
    }
    auto ours = read_link(std::string("/proc/self/ns/") + type);
    Namespace n{type, std::nullopt, ours && *ours == *theirs};
    auto open = theirs->find('[');
    auto close = theirs->find(']');
    if (open != std::string::npos && close != std::string::npos && close > open)
      n.inode = to_ull(std::string_view(*theirs).substr(open + 1, close - open - 1));
    out_.namespaces.push_back(std::move(n));
  }
}

void Inspector::fds() {
  size_t more = 0;
  auto list = list_fds(pid_, out_.notes, &more);
  out_.fds_more = more;
  if (!list) {
    // No list at all: not an empty table, but why there is none.
    const Error& e = list.error();
    if (e.sys_errno == EACCES || e.sys_errno == EPERM) refused("open files");
    out_.fds_error = e.message;
    return;
  }
  out_.fds = std::move(*list);
}

void Inspector::environment() {
  out_.env.emplace();
  auto raw = read("environ", "env", 1 << 20);
  if (!raw) return;
  for (auto kv : split_char(*raw, '\0'))
    if (!kv.empty()) out_.env->push_back(utf8_safe(kv));
}

}  // namespace

Result<InspectResult> inspect_process(int pid, const InspectOptions& opts) {
  if (pid <= 0)
    return Error{errc::kNotFound, "no process " + std::to_string(pid),
                 "list processes with `sonde ps TARGET`"};
  return Inspector(pid, opts).run();
}

}  // namespace sonde::proc
