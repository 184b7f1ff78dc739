#include "unwinder.h"

#include <libunwind.h>

#include <cstring>

// Exported by libunwind (its ptrace and coredump accessors use it) but not
// declared in its public headers: a binary search of an .eh_frame_hdr table
// read through the address space's accessors.
extern "C" int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t, unw_word_t, unw_dyn_info_t*,
                                                  unw_proc_info_t*, int, void*);

namespace sonde::profiler {

struct Unwinder::Impl {
  ProcessView& view;
  unw_addr_space_t as = nullptr;
  const Snapshot* snap = nullptr;  // the one being unwound
  bool stack_ran_out = false;      // a read fell past the copied stack

  explicit Impl(ProcessView& v) : view(v) {}

  static Impl* self(void* arg) { return static_cast<Impl*>(arg); }

  static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* pi, int need,
                            void* arg) {
    Impl* me = self(arg);
    const Module* m = me->view.module_at(ip);
    if (!m || !m->image->eh_frame_hdr()) return -UNW_ENOINFO;
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
    return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need, arg);
  }

  static void put_unwind_info(unw_addr_space_t, unw_proc_info_t* pi, void*) {
    // dwarf_search_unwind_table malloc()s the unwind info it hands out.
    if (pi->unwind_info) {
      free(pi->unwind_info);
      pi->unwind_info = nullptr;
    }
  }

  static int get_dyn_info_list_addr(unw_addr_space_t, unw_word_t*, void*) {
    return -UNW_ENOINFO;
  }

  static int access_mem(unw_addr_space_t, unw_word_t addr, unw_word_t* val, int write,
                        void* arg) {
    if (write) return -UNW_EINVAL;
    Impl* me = self(arg);
    const Snapshot& s = *me->snap;
    if (addr >= s.stack_addr && addr - s.stack_addr + sizeof(unw_word_t) <= s.stack_len) {
      std::memcpy(val, s.stack + (addr - s.stack_addr), sizeof *val);
      return 0;
    }
    if (me->view.read(addr, val, sizeof *val)) return 0;
    // Just above the copy is still the stack: the copy was too short.
    if (addr >= s.stack_addr && addr < s.stack_addr + (64u << 20)) me->stack_ran_out = true;
    return -UNW_EINVAL;
  }

  static int access_reg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* val, int write,
                        void* arg) {
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

void Unwinder::flush() { unw_flush_cache(impl_->as, 0, 0); }

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
    bool signal = unw_is_signal_frame(&c) > 0;
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
