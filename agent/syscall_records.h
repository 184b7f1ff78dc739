// Records of the syscall injections running on this host, so that
// `sonde inject --list` shows them beside the network faults and `--clear`
// ends them. A syscall fault needs no undo record (ptrace lets go of its
// tracees when the agent dies, and a launched command dies with it): this
// is a notice board. An injection run writes its record when it starts and
// removes it when it ends; `--clear` removes the record, and the run, which
// looks for it every 200 ms, detaches and ends ("cleared").
//
// Where: root's in /run/sonde/inject-syscall; another user's in
// $XDG_RUNTIME_DIR/sonde-inject (or, without one, `inject` beside the
// agent). Each is a folder of the user's own, mode 0700, never a symlink:
// a record another user could write is never read.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/netfault.h"

namespace sonde::agent {

class SyscallRecord {
 public:
  SyscallRecord() = default;
  // Writes the record: what (the rules in words), scope (the process), when
  // it ends (0: with the command).
  static Result<SyscallRecord> write(const std::string& what, const std::string& scope,
                                     int64_t ends_ns);
  ~SyscallRecord();
  SyscallRecord(SyscallRecord&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  SyscallRecord& operator=(SyscallRecord&&) = delete;
  SyscallRecord(const SyscallRecord&) = delete;
  // False once `inject_clear` removed it.
  bool still_there() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The syscall injections running (records whose agent is gone are removed
// and left out), kind "syscall".
std::vector<net::InjectionInfo> syscall_injections(std::vector<std::string>& notes);
// Removes their records: each run ends within 200 ms. Returns what it ended.
std::vector<net::InjectionInfo> clear_syscall_injections(std::vector<std::string>& notes);

}  // namespace sonde::agent
