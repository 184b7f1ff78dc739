// What the profiler hands out: symbolized frames, aggregated stacks with
// counts (a profile), and per-thread stacks (a stack dump). Both travel from
// agent to controller as JSON; the exporters and renderers read them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::profiler {

enum class FrameKind : uint8_t {
  kCode,       // an address in a mapped module (function may still be unknown)
  kUnknown,    // an address outside any file-backed mapping (JIT, anonymous)
  kSyscall,    // wall mode: the syscall a blocked thread waits in (leaf only)
  kTruncated,  // the unwinder stopped before the outermost frame (root only)
};

struct Frame {
  FrameKind kind = FrameKind::kCode;
  std::string function;     // demangled; empty when no symbol covers the address
  std::string module;       // path of the ELF file, "[vdso]"; empty when unmapped
  uint64_t address = 0;     // absolute address in the target
  uint64_t rel = 0;         // address in the module's own ELF vaddr space (addr2line -e)
  uint64_t sym_offset = 0;  // address - start of `function`
  std::string file;         // source file when debug info has it
  uint32_t line = 0;
  bool inlined = false;  // inlined into the next frame outwards (same address)
};

// "main", "[unknown 0x7f12…]", "libfoo.so+0x1234" (module known, symbol not),
// "[syscall nanosleep]", "[truncated]". What flame graphs and tables show.
std::string display_name(const Frame& f);
// Basename of the module ("libc.so.6"), "" when none.
std::string module_basename(const Frame& f);

struct ThreadInfo {
  int tid = 0;  // 0 in a fleet's merged profile: threads of one name are one
  std::string name;
  std::string host;  // a fleet's merged profile: the host the thread ran on
};

// One distinct stack and how often it was seen. frames: indices into
// Profile::frames, leaf (innermost) first; inline frames are separate entries.
struct StackCount {
  std::vector<uint32_t> frames;
  uint64_t count = 0;
  uint32_t thread = 0;  // index into Profile::threads
};

struct Profile {
  int pid = 0;
  std::string comm;
  std::string mode = "cpu";  // cpu | wall
  std::string sampler;       // perf_event | ptrace
  std::string sampler_reason;
  uint32_t hz = 0;
  uint64_t duration_ms = 0;
  uint64_t samples = 0;  // sum of counts
  uint64_t lost = 0;     // samples the kernel or the sampler dropped
  std::vector<Frame> frames;
  std::vector<StackCount> stacks;
  std::vector<ThreadInfo> threads;
  std::vector<std::string> notes;
  // A launched command that ended on its own: its exit status, or the
  // signal that killed it ("SIGSEGV").
  std::optional<int> exit_code;
  std::string killed_by;
};

struct ThreadStack {
  int tid = 0;
  std::string name;
  char state = '?';           // /proc state letter: R S D T t Z ...
  std::string syscall;        // the syscall it is blocked in, when it is
  std::vector<Frame> frames;  // innermost first, inline frames expanded
  bool truncated = false;     // the unwinder stopped early
  std::string error;          // why this thread has no stack (it exited, ...)
};

struct StackDump {
  int pid = 0;
  std::string comm;
  std::vector<ThreadStack> threads;
  // Threads of the process not in `threads`: over the thread cap or the
  // dump's size cap (a JVM can run tens of thousands).
  uint64_t threads_more = 0;
  std::vector<std::string> notes;
  // What it cost: the longest any one thread was held stopped, the whole
  // capture (threads are taken one at a time), and unwinding+symbolizing
  // (after every thread runs again). Microseconds; 0 when unknown.
  uint64_t max_stop_us = 0;
  uint64_t capture_us = 0;
  uint64_t resolve_us = 0;
};

json to_json(const Frame& f);
json to_json(const Profile& p);
json to_json(const StackDump& d);
// Strict: a field of the wrong type or an index out of range is kProtocol.
Result<Frame> frame_from_json(const json& j);
Result<Profile> profile_from_json(const json& j);
Result<StackDump> stack_dump_from_json(const json& j);

// The top-functions table: per display name, samples where it is the leaf
// (self) and samples where it is anywhere on the stack (total, counted once
// per stack even under recursion). Sorted by self, then total, descending.
struct FunctionStat {
  std::string name;
  std::string module;
  uint64_t self = 0;
  uint64_t total = 0;
};
std::vector<FunctionStat> top_functions(const Profile& p);

}  // namespace sonde::profiler
