#include "collector.h"

#include "sonde/ptrace/syscalls.h"

namespace sonde::profiler {
namespace {

// Leaf markers in the key: none, a syscall (+nr), or kernel code.
constexpr uint64_t kLeafNone = 0;
constexpr uint64_t kLeafKernel = 1;
constexpr uint64_t kLeafSyscallBase = 2;

}  // namespace

void Collector::add(const Snapshot& s, long leaf_syscall, bool in_kernel) {
  unwinder_.unwind(s, scratch_, max_);
  key_.clear();
  key_.push_back(static_cast<uint64_t>(s.tid));
  key_.push_back(in_kernel           ? kLeafKernel
                 : leaf_syscall >= 0 ? kLeafSyscallBase + static_cast<uint64_t>(leaf_syscall)
                                     : kLeafNone);
  key_.push_back(scratch_.truncated ? 1 : 0);
  key_.insert(key_.end(), scratch_.pcs.begin(), scratch_.pcs.end());
  ++counts_[key_];
  ++samples_;
}

void Collector::finish(Profile& p, Symbolizer& sym) {
  FrameResolver resolver(view_, sym);
  std::unordered_map<uint64_t, std::vector<uint32_t>> pc_frames;  // tagged pc → frame indices
  std::map<uint64_t, uint32_t> special;                           // leaf markers, truncated
  std::map<pid_t, uint32_t> thread_index;

  auto special_frame = [&](uint64_t marker) -> uint32_t {
    auto it = special.find(marker);
    if (it != special.end()) return it->second;
    Frame f;
    if (marker == ~uint64_t{0}) {
      f.kind = FrameKind::kTruncated;
    } else if (marker == kLeafKernel) {
      f.kind = FrameKind::kUnknown;
      f.function = "[kernel]";
    } else {
      f.kind = FrameKind::kSyscall;
      f.function = ptrace::syscall_label(static_cast<long>(marker - kLeafSyscallBase));
    }
    p.frames.push_back(std::move(f));
    return special[marker] = static_cast<uint32_t>(p.frames.size() - 1);
  };

  for (const auto& [key, count] : counts_) {
    StackCount sc;
    sc.count = count;
    auto tid = static_cast<pid_t>(key[0]);
    auto [ti, fresh] = thread_index.try_emplace(tid, static_cast<uint32_t>(p.threads.size()));
    if (fresh) {
      auto nit = names_.find(tid);
      p.threads.push_back({tid, nit != names_.end() ? nit->second : std::string()});
    }
    sc.thread = ti->second;
    if (key[1] != kLeafNone) sc.frames.push_back(special_frame(key[1]));
    for (size_t i = 3; i < key.size(); ++i) {
      auto [pit, pfresh] = pc_frames.try_emplace(key[i]);
      if (pfresh)
        for (const Frame& f : resolver.resolve(key[i])) {
          p.frames.push_back(f);
          pit->second.push_back(static_cast<uint32_t>(p.frames.size() - 1));
        }
      sc.frames.insert(sc.frames.end(), pit->second.begin(), pit->second.end());
    }
    if (key[2]) sc.frames.push_back(special_frame(~uint64_t{0}));
    p.samples += count;
    p.stacks.push_back(std::move(sc));
  }
  // Biggest first: what a reader of the JSON looks at first.
  std::sort(p.stacks.begin(), p.stacks.end(),
            [](const StackCount& a, const StackCount& b) { return a.count > b.count; });
  p.lost = lost_;
}

}  // namespace sonde::profiler
