// x86-64 syscall names, classes (for -e trace=%file ...) and argument
// decoding into strace-style text plus structured JSON. Pure functions over
// register values and a tracee memory reader: testable without ptrace.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sonde/common/frame.h"
#include "sonde/common/signals.h"
#include "sonde/ptrace/remote_ptr.h"

namespace sonde::ptrace {

// Class bits, as strace's %file, %network, %process, %memory, %signal, %desc, %ipc.
enum SyscallClass : uint32_t {
  kClassFile = 1u << 0,
  kClassNetwork = 1u << 1,
  kClassProcess = 1u << 2,
  kClassMemory = 1u << 3,
  kClassSignal = 1u << 4,
  kClassDesc = 1u << 5,
  kClassIpc = 1u << 6,
};

// Highest x86-64 syscall number in the table + 1.
int syscall_table_size();
// "openat"; nullptr for numbers we have no name for (callers print syscall_NNN).
const char* syscall_name(long nr);
// syscall_name, or "syscall_NNN" for numbers without a name.
std::string syscall_label(long nr);
std::optional<long> syscall_number(std::string_view name);
uint32_t syscall_classes(long nr);
// Arguments the kernel takes for nr (6 for numbers we do not know).
int syscall_nargs(long nr);
// Class by strace's name without the %: "file", "network"/"net", "process",
// "memory", "signal", "desc", "ipc".
std::optional<uint32_t> class_from_name(std::string_view name);

// "ENOENT"; nullptr if unknown.
const char* errno_name(int err);

// Signal names: sonde::signal_name (sonde/common/signals.h).
using sonde::signal_name;

// Reads tracee memory (process_vm_readv in the tracer). Returns bytes read,
// or -1; a short or failed read must be survivable (unmapped, hostile).
class MemReader {
 public:
  virtual ~MemReader() = default;
  virtual ssize_t read(RemotePtr<void> from, void* buf, size_t len) = 0;
};

// For -y: what an fd of the traced process is, e.g. "/etc/hosts" or
// "TCP:[127.0.0.1:40002->127.0.0.1:5432]".
class FdAnnotator {
 public:
  virtual ~FdAnnotator() = default;
  // Appends the description to out; false (out unchanged) if unknown.
  virtual bool describe(int pid, int fd, std::string& out) = 0;
  // Appends "<description>" to out, or nothing if unknown.
  void annotate(int pid, int fd, std::string& out) {
    size_t mark = out.size();
    out += '<';
    if (describe(pid, fd, out) && out.size() > mark + 1)
      out += '>';
    else
      out.resize(mark);
  }
};

struct DecodeOptions {
  size_t string_limit = 32;   // -s: bytes of buffers/strings shown
  bool annotate_fds = false;  // -y
  // Also build the per-argument JSON (`args`). Text output needs only
  // args_text, and the JSON allocations are most of a live event's cost on
  // the tracer thread, i.e. time the stopped tracee waits.
  bool structured = true;
};

struct DecodedCall {
  std::string args_text;  // "AT_FDCWD, \"/etc/hosts\", O_RDONLY|O_CLOEXEC"
  json args;              // [{"name":"dirfd","value":-100,"text":"AT_FDCWD"},
                          // {"name":"pathname","value":"/etc/hosts"}, ...]
  // What strace prints in parentheses after the return value: "Timeout",
  // "[{fd=3, revents=POLLIN}]", "flags O_RDONLY"; empty for most calls.
  // format_return(nr, ret, call) appends it.
  std::string ret_note;
  // The return value reads better in hex (fcntl F_GETFL: "0x8002").
  bool ret_hex = false;
};

// A NUL-terminated string of the tracee at addr, read a page at a time so
// that a string near the end of a mapping does not fail on the next page.
// At most max bytes: without a NUL within them (or where memory ends) what
// was read comes back cut, with *truncated set. nullopt: addr is 0 or
// nothing there can be read.
std::optional<std::string> read_remote_cstr(MemReader& mem, uint64_t addr, size_t max,
                                            bool* truncated);

// Syscalls whose arguments must be read at entry (the memory is gone or
// replaced at exit: execve, execveat; exit/exit_group never return).
bool decode_at_entry(long nr);

// Decodes the arguments of syscall nr. `ret` is the return value when
// decoding at exit (read buffers are shown only up to ret bytes), or
// kNoReturn at entry.
inline constexpr int64_t kNoReturn = INT64_MIN;
DecodedCall decode_args(int pid, long nr, const uint64_t args[6], int64_t ret, MemReader& mem,
                        FdAnnotator* fds, const DecodeOptions& opts);
// The same into `out`, whose strings keep their capacity: the tracer decodes
// into one reused DecodedCall instead of allocating per syscall.
void decode_args_into(DecodedCall& out, int pid, long nr, const uint64_t args[6], int64_t ret,
                      MemReader& mem, FdAnnotator* fds, const DecodeOptions& opts);

// strace-style return: "3", "-1 ENOENT (No such file or directory)",
// "0x7f12c4a2b000" for mmap/brk, "? " for unknown.
std::string format_return(long nr, int64_t ret);
// The same plus the decoder's note: "1 ([{fd=7, revents=POLLOUT}])".
std::string format_return(long nr, int64_t ret, const DecodedCall& call);

// C-escaped, quoted, cut at limit with "..." like strace: "GET / HTTP/1.1\r\n"...
std::string quote_bytes(std::string_view data, size_t limit, bool truncated_source);
// The same, appended to out.
void append_quoted(std::string& out, std::string_view data, size_t limit, bool truncated_source);

}  // namespace sonde::ptrace
