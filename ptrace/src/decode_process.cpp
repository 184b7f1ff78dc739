// Process syscalls: clone/clone3/fork, execve/execveat, wait4/waitid, exit,
// kill/tkill/tgkill, prctl, futex.
#include <asm/unistd_64.h>
#include <linux/sched.h>

#include <fmt/format.h>

#include "decode_internal.h"

namespace sonde::ptrace::detail {
namespace {

constexpr Named kCloneFlags[] = {
    {0x100, "CLONE_VM"},
    {0x200, "CLONE_FS"},
    {0x400, "CLONE_FILES"},
    {0x800, "CLONE_SIGHAND"},
    {0x1000, "CLONE_PIDFD"},
    {0x2000, "CLONE_PTRACE"},
    {0x4000, "CLONE_VFORK"},
    {0x8000, "CLONE_PARENT"},
    {0x10000, "CLONE_THREAD"},
    {0x20000, "CLONE_NEWNS"},
    {0x40000, "CLONE_SYSVSEM"},
    {0x80000, "CLONE_SETTLS"},
    {0x100000, "CLONE_PARENT_SETTID"},
    {0x200000, "CLONE_CHILD_CLEARTID"},
    {0x400000, "CLONE_DETACHED"},
    {0x800000, "CLONE_UNTRACED"},
    {0x1000000, "CLONE_CHILD_SETTID"},
    {0x2000000, "CLONE_NEWCGROUP"},
    {0x4000000, "CLONE_NEWUTS"},
    {0x8000000, "CLONE_NEWIPC"},
    {0x10000000, "CLONE_NEWUSER"},
    {0x20000000, "CLONE_NEWPID"},
    {0x40000000, "CLONE_NEWNET"},
    {0x80000000, "CLONE_IO"},
    {0x100000000, "CLONE_CLEAR_SIGHAND"},
    {0x200000000, "CLONE_INTO_CGROUP"},
};
constexpr uint64_t kSetTls = 0x80000, kParentSettid = 0x100000, kChildCleartid = 0x200000,
                   kChildSettid = 0x1000000, kPidfd = 0x1000;
constexpr Named kWaitOptions[] = {
    {1, "WNOHANG"},         {2, "WSTOPPED"},          {4, "WEXITED"},
    {8, "WCONTINUED"},      {0x1000000, "WNOWAIT"},   {0x20000000, "__WNOTHREAD"},
    {0x40000000, "__WALL"}, {0x80000000, "__WCLONE"},
};
// wait4 spells WSTOPPED as WUNTRACED.
constexpr Named kWait4Options[] = {
    {1, "WNOHANG"},         {2, "WUNTRACED"},
    {8, "WCONTINUED"},      {0x20000000, "__WNOTHREAD"},
    {0x40000000, "__WALL"}, {0x80000000, "__WCLONE"},
};
constexpr Named kIdTypes[] = {{0, "P_ALL"}, {1, "P_PID"}, {2, "P_PGID"}, {3, "P_PIDFD"}};
constexpr Named kExecAtFlags[] = {{0x100, "AT_SYMLINK_NOFOLLOW"}, {0x1000, "AT_EMPTY_PATH"}};
constexpr Named kPrctlOptions[] = {
    {1, "PR_SET_PDEATHSIG"},
    {2, "PR_GET_PDEATHSIG"},
    {3, "PR_GET_DUMPABLE"},
    {4, "PR_SET_DUMPABLE"},
    {7, "PR_GET_KEEPCAPS"},
    {8, "PR_SET_KEEPCAPS"},
    {15, "PR_SET_NAME"},
    {16, "PR_GET_NAME"},
    {21, "PR_GET_SECCOMP"},
    {22, "PR_SET_SECCOMP"},
    {23, "PR_CAPBSET_READ"},
    {24, "PR_CAPBSET_DROP"},
    {29, "PR_SET_TIMERSLACK"},
    {30, "PR_GET_TIMERSLACK"},
    {35, "PR_SET_MM"},
    {36, "PR_SET_CHILD_SUBREAPER"},
    {37, "PR_GET_CHILD_SUBREAPER"},
    {38, "PR_SET_NO_NEW_PRIVS"},
    {39, "PR_GET_NO_NEW_PRIVS"},
    {41, "PR_SET_THP_DISABLE"},
    {42, "PR_GET_THP_DISABLE"},
    {47, "PR_CAP_AMBIENT"},
    {0x53564d41, "PR_SET_VMA"},
    {0x59616d61, "PR_SET_PTRACER"},
};
constexpr Named kDumpable[] = {
    {0, "SUID_DUMP_DISABLE"}, {1, "SUID_DUMP_USER"}, {2, "SUID_DUMP_ROOT"}};
constexpr Named kFutexOps[] = {
    {0, "FUTEX_WAIT"},
    {1, "FUTEX_WAKE"},
    {2, "FUTEX_FD"},
    {3, "FUTEX_REQUEUE"},
    {4, "FUTEX_CMP_REQUEUE"},
    {5, "FUTEX_WAKE_OP"},
    {6, "FUTEX_LOCK_PI"},
    {7, "FUTEX_UNLOCK_PI"},
    {8, "FUTEX_TRYLOCK_PI"},
    {9, "FUTEX_WAIT_BITSET"},
    {10, "FUTEX_WAKE_BITSET"},
    {11, "FUTEX_WAIT_REQUEUE_PI"},
    {12, "FUTEX_CMP_REQUEUE_PI"},
    {13, "FUTEX_LOCK_PI2"},
};

void clone_args(Call& c) {
  // x86-64: clone(flags, stack, parent_tid, child_tid, tls).
  uint64_t flags = c.arg(0);
  c.add("stack", c.arg(1), "child_stack=" + ptr_text(c.arg(1)));
  std::string ft = flags_text(flags & ~uint64_t{0xff}, kCloneFlags);
  if ((flags & 0xff) != 0) {
    std::string sig = signal_text(flags & 0xff);
    ft = (flags & ~uint64_t{0xff}) ? ft + "|" + sig : sig;
  }
  c.add("flags", flags, "flags=" + ft);
  if (flags & (kParentSettid | kPidfd))
    c.add("parent_tid", c.arg(2), "parent_tid=" + ptr_text(c.arg(2)));
  if (flags & (kChildSettid | kChildCleartid))
    c.add("child_tid", c.arg(3), "child_tidptr=" + ptr_text(c.arg(3)));
  if (flags & kSetTls) c.add("tls", c.arg(4), "tls=" + ptr_text(c.arg(4)));
}

void clone3_args(Call& c) {
  struct clone_args ca {};
  uint64_t size = c.arg(1);
  // Older, smaller versions of the struct are valid; read what was given.
  size_t n = static_cast<size_t>(std::min<uint64_t>(size, sizeof ca));
  if (c.arg(0) == 0 || n < 64 ||
      c.mem().read(RemotePtr<void>(c.arg(0)), &ca, n) != static_cast<ssize_t>(n)) {
    c.ptr("cl_args", 0);
  } else {
    std::string t = "{flags=" + flags_text(ca.flags, kCloneFlags);
    if (ca.flags & kPidfd) t += ", pidfd=" + ptr_text(ca.pidfd);
    if (ca.flags & (kChildSettid | kChildCleartid)) t += ", child_tid=" + ptr_text(ca.child_tid);
    if (ca.flags & kParentSettid) t += ", parent_tid=" + ptr_text(ca.parent_tid);
    t += ", exit_signal=" + (ca.exit_signal ? signal_text(ca.exit_signal) : std::string("0"));
    t += ", stack=" + ptr_text(ca.stack) + ", stack_size=" + hex(ca.stack_size);
    if (ca.flags & kSetTls) t += ", tls=" + ptr_text(ca.tls);
    t += "}";
    c.add("cl_args", c.arg(0), t);
  }
  c.ulong("size", 1);
}

// argv: ["ls", "-la"], cut after -s elements like strace.
std::string argv_text(Call& c, uint64_t addr, json* value) {
  if (addr == 0) return "NULL";
  std::string out = "[";
  size_t cap = array_limit(c);
  for (size_t k = 0; k < 4096; ++k) {
    uint64_t p = 0;
    if (!c.read_obj(addr + k * 8, p)) {
      if (k == 0) return ptr_text(addr);
      out += ", ...";
      break;
    }
    if (p == 0) break;
    if (k == cap) {
      out += ", ...";
      break;
    }
    if (k) out += ", ";
    std::string s;
    std::string t = c.cstr_text(p, c.opts().string_limit, &s);
    out += t;
    if (value) value->push_back(t.size() && t[0] == '"' ? json(s) : json(p));
  }
  return out + "]";
}

// envp: "0x7ffd... /* 23 vars */"; counted, not shown, like strace.
std::string envp_text(Call& c, uint64_t addr) {
  if (addr == 0) return "NULL";
  uint64_t chunk[64];
  size_t count = 0;
  for (uint64_t at = addr; count < 65536; at += sizeof chunk) {
    ssize_t n = c.mem().read(RemotePtr<void>(at), chunk, sizeof chunk);
    if (n < 8) {
      if (count == 0 && at == addr) return ptr_text(addr);
      break;
    }
    size_t words = static_cast<size_t>(n) / 8;
    size_t k = 0;
    while (k < words && chunk[k] != 0) ++k;
    count += k;
    if (k < words) break;
    if (static_cast<size_t>(n) < sizeof chunk) break;
  }
  return fmt::format("{} /* {} var{} */", ptr_text(addr), count, count == 1 ? "" : "s");
}

void exec_args(Call& c, int first) {
  c.path("pathname", first);
  json av = json::array();
  std::string t = argv_text(c, c.arg(first + 1), &av);
  c.add("argv", t.size() && t[0] == '[' ? av : json(c.arg(first + 1)), t);
  c.add("envp", c.arg(first + 2), envp_text(c, c.arg(first + 2)));
}

std::string wait_status_text(int s) {
  if ((s & 0x7f) == 0)
    return fmt::format("[{{WIFEXITED(s) && WEXITSTATUS(s) == {}}}]", (s >> 8) & 0xff);
  if ((s & 0xff) == 0x7f)
    return fmt::format("[{{WIFSTOPPED(s) && WSTOPSIG(s) == {}{}}}]", signal_text((s >> 8) & 0xff),
                       (s >> 16) ? fmt::format(" && s >> 16 == {}", s >> 16) : "");
  if (s == 0xffff) return "[{WIFCONTINUED(s)}]";
  return fmt::format("[{{WIFSIGNALED(s) && WTERMSIG(s) == {}{}}}]", signal_text(s & 0x7f),
                     (s & 0x80) ? " && WCOREDUMP(s)" : "");
}

void futex_args(Call& c) {
  c.ptr("uaddr", 0);
  uint64_t op = c.arg(1);
  uint64_t cmd = op & 0x7f;
  std::string t = enum_text(cmd, kFutexOps, "FUTEX_");
  if (op & 128) t += "_PRIVATE";
  if (op & 256) t += "|FUTEX_CLOCK_REALTIME";
  if (op & ~uint64_t{0x1ff}) t += fmt::format("|{:#x}", op & ~uint64_t{0x1ff});
  c.add("futex_op", op, t);
  auto timeout = [&] { c.add("timeout", c.arg(3), timespec_text(c, c.arg(3))); };
  auto val2 = [&] {
    c.add("val2", static_cast<int32_t>(c.arg(3)), std::to_string(static_cast<int32_t>(c.arg(3))));
  };
  auto bitset = [&] {
    uint32_t v = static_cast<uint32_t>(c.arg(5));
    c.add("val3", v, v == 0xffffffffu ? std::string("FUTEX_BITSET_MATCH_ANY") : hex(v));
  };
  switch (cmd) {
    case 0:  // FUTEX_WAIT
      c.sint("val", 2);
      timeout();
      break;
    case 1:  // FUTEX_WAKE
    case 2:
      c.sint("val", 2);
      break;
    case 3:  // FUTEX_REQUEUE
      c.sint("val", 2);
      val2();
      c.ptr("uaddr2", 4);
      break;
    case 4:   // FUTEX_CMP_REQUEUE
    case 12:  // FUTEX_CMP_REQUEUE_PI
      c.sint("val", 2);
      val2();
      c.ptr("uaddr2", 4);
      c.sint("val3", 5);
      break;
    case 5:  // FUTEX_WAKE_OP
      c.sint("val", 2);
      val2();
      c.ptr("uaddr2", 4);
      c.xarg("val3", 5);
      break;
    case 6:   // FUTEX_LOCK_PI
    case 13:  // FUTEX_LOCK_PI2
      timeout();
      break;
    case 7:
    case 8:
      break;
    case 9:  // FUTEX_WAIT_BITSET
      c.sint("val", 2);
      timeout();
      bitset();
      break;
    case 10:  // FUTEX_WAKE_BITSET
      c.sint("val", 2);
      bitset();
      break;
    case 11:  // FUTEX_WAIT_REQUEUE_PI
      c.sint("val", 2);
      timeout();
      c.ptr("uaddr2", 4);
      break;
    default:
      c.sint("val", 2);
      c.xarg("val2", 3);
      c.ptr("uaddr2", 4);
      c.xarg("val3", 5);
      break;
  }
}

void prctl_args(Call& c) {
  uint64_t opt = c.arg(0);
  c.enumv("option", 0, kPrctlOptions, "PR_");
  switch (opt) {
    case 1:  // PR_SET_PDEATHSIG
      c.add("arg2", c.arg(1), c.arg(1) ? signal_text(c.arg(1)) : "0");
      return;
    case 15:  // PR_SET_NAME
      c.cstr("arg2", 1);
      return;
    case 16:  // PR_GET_NAME
      if (c.succeeded()) {
        c.cstr("arg2", 1);
      } else {
        c.ptr("arg2", 1);
      }
      return;
    case 2:
      c.ptr("arg2", 1);
      return;
    case 3:  // PR_GET_DUMPABLE
      if (c.succeeded())
        if (const char* n = enum_name(static_cast<uint64_t>(c.ret()), kDumpable)) c.set_ret_note(n);
      return;
    case 7:
    case 21:
    case 30:
    case 37:
    case 39:
    case 42:
      return;
    case 4:
    case 8:
    case 23:
    case 24:
    case 29:
    case 36:
      c.ulong("arg2", 1);
      return;
    default:
      for (int i = 1; i < 5; ++i) {
        static const char* const kNames[] = {"", "arg2", "arg3", "arg4", "arg5"};
        c.add(kNames[i], c.arg(i), hex(c.arg(i)));
      }
      return;
  }
}

}  // namespace

bool decode_process(Call& c) {
  switch (c.nr()) {
    case __NR_clone:
      clone_args(c);
      return true;
    case __NR_clone3:
      clone3_args(c);
      return true;
    case __NR_execve:
      exec_args(c, 0);
      return true;
    case __NR_execveat:
      c.dirfd("dirfd", 0);
      exec_args(c, 1);
      c.flags("flags", 4, kExecAtFlags);
      return true;
    case __NR_wait4: {
      c.sint("pid", 0);
      int32_t st = 0;
      if (c.succeeded() && c.ret() > 0 && c.read_obj(c.arg(1), st)) {
        c.add("wstatus", st, wait_status_text(st));
      } else {
        c.ptr("wstatus", 1);
      }
      c.flags("options", 2, kWait4Options);
      c.ptr("rusage", 3);
      return true;
    }
    case __NR_waitid:
      c.enumv("idtype", 0, kIdTypes, "P_");
      c.sint("id", 1);
      c.ptr("infop", 2);
      c.flags("options", 3, kWaitOptions);
      c.ptr("rusage", 4);
      return true;
    case __NR_exit:
    case __NR_exit_group:
      c.sint("status", 0);
      return true;
    case __NR_kill:
      c.sint("pid", 0);
      c.add("sig", c.arg(1), signal_text(c.arg(1)));
      return true;
    case __NR_tkill:
      c.sint("tid", 0);
      c.add("sig", c.arg(1), signal_text(c.arg(1)));
      return true;
    case __NR_tgkill:
      c.sint("tgid", 0);
      c.sint("tid", 1);
      c.add("sig", c.arg(2), signal_text(c.arg(2)));
      return true;
    case __NR_prctl:
      prctl_args(c);
      return true;
    case __NR_futex:
      futex_args(c);
      return true;
    default:
      return false;
  }
}

}  // namespace sonde::ptrace::detail
