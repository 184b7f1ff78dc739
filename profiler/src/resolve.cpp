#include "resolve.h"

#include "unwinder.h"

namespace sonde::profiler {

const std::vector<Frame>& FrameResolver::resolve(uint64_t tagged) {
  auto [it, fresh] = cache_.try_emplace(tagged);
  if (!fresh) return it->second;
  std::vector<Frame>& out = it->second;
  uint64_t pc = tagged & kPcMask;
  const Module* m = view_.module_at(pc);
  if (!m) {
    Frame f;
    f.kind = FrameKind::kUnknown;
    f.address = pc;
    out.push_back(std::move(f));
    return out;
  }
  if (tagged & kPcSignal) {
    // What gdb shows for the kernel-made frame that returns into sigreturn.
    Frame f;
    f.address = pc;
    f.module = m->ref.name;
    f.rel = pc - m->bias;
    f.function = "<signal handler called>";
    out.push_back(std::move(f));
    return out;
  }
  out = sym_.symbolize(m->ref, pc - m->bias, (tagged & kPcReturn) != 0);
  if (out.empty()) {
    Frame f;
    f.module = m->ref.name;
    f.rel = pc - m->bias;
    out.push_back(std::move(f));
  }
  for (auto& f : out) f.address = pc;
  return out;
}

}  // namespace sonde::profiler
