#include "unwinder.h"

#include <libunwind.h>

#include <algorithm>
#include <cstring>

// Exported by libunwind (its ptrace and coredump accessors use it) but not
// declared in its public headers: a binary search of an .eh_frame_hdr table
// read through the address space's accessors.
extern "C" int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t, unw_word_t, unw_dyn_info_t*,
                                                  unw_proc_info_t*, int, void*);
// Internal to libunwind (we link its static archive for it): parses one FDE
// at *fde_addr; with is_debug_frame set, CIE pointers are offsets from base.
extern "C" int _Ux86_64_dwarf_extract_proc_info_from_fde(unw_addr_space_t, unw_accessors_t*,
                                                         unw_word_t* fde_addr, unw_proc_info_t*,
                                                         unw_word_t base, int need_unwind_info,
                                                         int is_debug_frame, void* arg);

namespace sonde::profiler {
namespace {

// .debug_frame sections are served to libunwind at made-up addresses in the
// kernel half, where no user pc, stack or file mapping can be: 4 GiB apart.
constexpr uint64_t kSynthBase = 0xffff900000000000ull;
constexpr uint64_t kSynthSpan = uint64_t{1} << 32;

}  // namespace

struct Unwinder::Impl {
  ProcessView& view;
  unw_addr_space_t as = nullptr;
  const Snapshot* snap = nullptr;  // the one being unwound
  bool stack_ran_out = false;      // a read fell past the copied stack

  std::vector<const ElfImage*> synth;  // index i lives at kSynthBase + i * kSynthSpan

  explicit Impl(ProcessView& v) : view(v) {}

  uint64_t synth_base(const ElfImage* img) {
    for (size_t i = 0; i < synth.size(); ++i)
      if (synth[i] == img) return kSynthBase + i * kSynthSpan;
    synth.push_back(img);
    return kSynthBase + (synth.size() - 1) * kSynthSpan;
  }

  bool synth_read(uint64_t addr, void* out, size_t n) {
    uint64_t i = (addr - kSynthBase) / kSynthSpan, off = (addr - kSynthBase) % kSynthSpan;
    if (i >= synth.size()) return false;
    const ElfImage* img = synth[i];
    if (off > img->debug_frame_size() || n > img->debug_frame_size() - off) return false;
    std::memcpy(out, img->debug_frame_data() + off, n);
    return true;
  }

  // For code without .eh_frame (built with -fno-asynchronous-unwind-tables):
  // its .debug_frame FDE, found in our own index of the section.
  int from_debug_frame(unw_addr_space_t as, unw_word_t ip, const Module* m, unw_proc_info_t* pi,
                       int need, void* arg) {
    const auto& idx = m->image->debug_frame_index();
    uint64_t v = ip - m->bias;
    auto it =
        std::upper_bound(idx.begin(), idx.end(), v,
                         [](uint64_t a, const ElfImage::DebugFrameFde& f) { return a < f.start; });
    if (it == idx.begin()) return -UNW_ENOINFO;
    --it;
    if (v >= it->end) return -UNW_ENOINFO;
    uint64_t base = synth_base(m->image.get());
    unw_word_t fde = base + it->offset;
    int r = _Ux86_64_dwarf_extract_proc_info_from_fde(as, unw_get_accessors(as), &fde, pi, base,
                                                      need, 1, arg);
    if (r < 0) return r;
    // FDEs hold ELF vaddrs; the process has the module at its load bias.
    pi->start_ip += m->bias;
    pi->end_ip += m->bias;
    // Not UNW_PI_FLAG_DEBUG_FRAME: with it libunwind reads the CFI program
    // from its own memory (where its local unwinder keeps .debug_frame), not
    // through our accessors.
    if (ip < pi->start_ip || ip >= pi->end_ip) {
      put_unwind_info(as, pi, arg);
      return -UNW_ENOINFO;
    }
    return 0;
  }

  static Impl* self(void* arg) { return static_cast<Impl*>(arg); }

  // The kernel returns from a signal handler into the libc trampoline
  // `mov $15,%rax; syscall` (rt_sigreturn). libunwind recognises it the same
  // way; its own flag marks the frame after, so check the code ourselves.
  bool is_sigreturn(uint64_t ip) {
    static const uint8_t kCode[9] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
    uint8_t code[9];
    return view.read(ip, code, sizeof code) && std::memcmp(code, kCode, sizeof code) == 0;
  }

  static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* pi, int need,
                            void* arg) {
    Impl* me = self(arg);
    const Module* m = me->view.module_at(ip);
    if (!m) return -UNW_ENOINFO;
    if (!m->image->eh_frame_hdr()) return me->from_debug_frame(as, ip, m, pi, need, arg);
    const auto& h = *m->image->eh_frame_hdr();
    unw_dyn_info_t di;
    std::memset(&di, 0, sizeof di);
    di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
    di.start_ip = m->image->text_start() + m->bias;
    di.end_ip = m->image->text_end() + m->bias;
    di.u.rti.segbase = h.hdr_vaddr + m->bias;
    di.u.rti.table_data = h.table_vaddr + m->bias;
    // In words; each table entry is two 32-bit offsets.
    di.u.rti.table_len = h.fde_count * 8 / sizeof(unw_word_t);
    int r = _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need, arg);
    if (r == -UNW_ENOINFO) return me->from_debug_frame(as, ip, m, pi, need, arg);
    return r;
  }

  static void put_unwind_info(unw_addr_space_t, unw_proc_info_t* pi, void*) {
    // dwarf_search_unwind_table malloc()s the unwind info it hands out.
    if (pi->unwind_info) {
      free(pi->unwind_info);
      pi->unwind_info = nullptr;
    }
  }

  static int get_dyn_info_list_addr(unw_addr_space_t, unw_word_t*, void*) { return -UNW_ENOINFO; }

  static int access_mem(unw_addr_space_t, unw_word_t addr, unw_word_t* val, int write, void* arg) {
    if (write) return -UNW_EINVAL;
    Impl* me = self(arg);
    const Snapshot& s = *me->snap;
    if (addr >= s.stack_addr && addr - s.stack_addr + sizeof(unw_word_t) <= s.stack_len) {
      std::memcpy(val, s.stack + (addr - s.stack_addr), sizeof *val);
      return 0;
    }
    if (addr >= kSynthBase) return me->synth_read(addr, val, sizeof *val) ? 0 : -UNW_EINVAL;
    if (me->view.read(addr, val, sizeof *val)) return 0;
    // Just above the copy is still the stack: the copy was too short.
    if (addr >= s.stack_addr && addr < s.stack_addr + (64u << 20)) me->stack_ran_out = true;
    return -UNW_EINVAL;
  }

  static int access_reg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* val, int write, void* arg) {
    if (write || reg < 0 || reg >= kRegCount) return -UNW_EBADREG;
    *val = self(arg)->snap->regs[reg];
    return 0;
  }

  static int access_fpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) {
    return -UNW_EBADREG;
  }

  static int resume(unw_addr_space_t, unw_cursor_t*, void*) { return -UNW_EINVAL; }

  static int get_proc_name(unw_addr_space_t, unw_word_t, char*, size_t, unw_word_t*, void*) {
    return -UNW_ENOINFO;
  }
};

Unwinder::Unwinder(ProcessView& view) : impl_(new Impl(view)) {
  static unw_accessors_t acc = {
      Impl::find_proc_info, Impl::put_unwind_info, Impl::get_dyn_info_list_addr,
      Impl::access_mem,     Impl::access_reg,      Impl::access_fpreg,
      Impl::resume,         Impl::get_proc_name,
  };
  impl_->as = unw_create_addr_space(&acc, 0);
  // Per-process cache of parsed CFI: samples revisit the same pcs constantly.
  unw_set_caching_policy(impl_->as, UNW_CACHE_GLOBAL);
}

Unwinder::~Unwinder() {
  if (impl_->as) unw_destroy_addr_space(impl_->as);
  delete impl_;
}

void Unwinder::flush() {
  unw_flush_cache(impl_->as, 0, 0);
}

void Unwinder::unwind(const Snapshot& s, UnwoundStack& out, size_t max_frames) {
  out.pcs.clear();
  out.truncated = false;
  impl_->snap = &s;
  impl_->stack_ran_out = false;
  unw_cursor_t c;
  if (unw_init_remote(&c, impl_->as, impl_) < 0) {
    out.pcs.push_back(s.regs[kRegIp]);
    out.truncated = true;
    return;
  }
  uint64_t flags = 0;
  uint64_t prev_sp = 0;
  for (size_t n = 0;; ++n) {
    unw_word_t ip = 0, sp = 0;
    unw_get_reg(&c, UNW_REG_IP, &ip);
    unw_get_reg(&c, UNW_REG_SP, &sp);
    if (ip == 0) break;  // the outermost frame's return address
    bool signal = impl_->is_sigreturn(ip);
    out.pcs.push_back((ip & kPcMask) | flags | (signal ? kPcSignal : 0));
    if (n + 1 >= max_frames) {
      out.truncated = true;
      break;
    }
    // A frame that does not move the stack up is a loop in bad unwind data.
    if (n > 0 && sp <= prev_sp && !signal) {
      out.truncated = true;
      break;
    }
    prev_sp = sp;
    int r = unw_step(&c);
    if (r == 0) break;
    if (r < 0) {
      out.truncated = true;
      break;
    }
    // After a signal frame comes the interrupted pc itself, not a return address.
    flags = signal ? 0 : kPcReturn;
  }
  impl_->snap = nullptr;
}

}  // namespace sonde::profiler
