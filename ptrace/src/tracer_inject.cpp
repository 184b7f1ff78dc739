// Syscall fault injection inside the tracer (sonde inject).
//
// At a syscall's entry stop (or its seccomp stop in launch mode) the rules
// whose syscall and argument filters match count the call; those whose
// `when` fires act. A call answered by error= or retval= gets its number
// replaced by -1 at once, with the result already in rax, and is resumed:
// the kernel skips it and leaves rax as it is. At the exit stop the result
// is written again, before any delay. So an agent that dies between the two
// stops leaves the call answered as injected (or, on a kernel that resets
// rax for a skipped call, ENOSYS): never run, never stopped for good.
//
// A delay holds the task in its stop while every other task runs on: the
// held task waits in held_, and a timer (the kick signal, aimed at the
// tracer thread) wakes waitpid() when the first one is due.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "sonde/common/io.h"
#include "sonde/ptrace/remote_ptr.h"
#include "tracer_internal.h"

namespace sonde::ptrace {
namespace {

// A path argument; nullopt when unreadable or longer than PATH_MAX.
std::optional<std::string> read_path(pid_t pid, uint64_t addr) {
  VmReader mem(pid);
  bool truncated = false;
  auto p = read_remote_cstr(mem, addr, 4096, &truncated);
  if (truncated) return std::nullopt;
  return p;
}

// Where a /proc link points; "" when it cannot be read.
std::string link_text(const std::string& path) {
  auto l = sonde::read_link(path);
  return l ? *l : std::string();
}

bool same_peer(const InjectPeer& p, const sockaddr_storage& sa, size_t len) {
  if (sa.ss_family != p.family) return false;
  if (p.family == AF_INET) {
    if (len < sizeof(sockaddr_in)) return false;
    const auto* in = reinterpret_cast<const sockaddr_in*>(&sa);
    if (std::memcmp(&in->sin_addr, p.addr, 4) != 0) return false;
    return p.port < 0 || ntohs(in->sin_port) == p.port;
  }
  if (len < sizeof(sockaddr_in6)) return false;
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&sa);
  if (std::memcmp(&in6->sin6_addr, p.addr, 16) != 0) return false;
  return p.port < 0 || ntohs(in6->sin6_port) == p.port;
}

}  // namespace

bool Tracer::args_match(Task& t, const InjectRule& r) {
  if (r.fd && static_cast<int>(t.args[0]) != *r.fd) return false;
  if (r.peer) {
    uint64_t addr = 0, len = 0;
    if (int i = sockaddr_arg(t.nr); i >= 0) {
      addr = t.args[i];
      len = t.args[i + 1];
    } else if (t.nr == SYS_sendmsg) {
      msghdr m{};
      if (!read_remote(t.tid, RemotePtr<msghdr>(t.args[1]), &m)) return false;
      addr = reinterpret_cast<uint64_t>(m.msg_name);
      len = m.msg_namelen;
    } else {
      return false;
    }
    sockaddr_storage sa{};
    len = std::min<uint64_t>(len, sizeof sa);
    if (addr == 0 || len < sizeof(sa_family_t) ||
        read_remote(t.tid, RemotePtr<void>(addr), &sa, len) != static_cast<ssize_t>(len))
      return false;
    if (!same_peer(*r.peer, sa, len)) return false;
  }
  if (!r.path.empty()) {
    unsigned which = path_args(t.nr);
    bool hit = false;
    for (int i = 0; i < 6 && !hit && which; ++i) {
      if (!(which & (1u << i))) continue;
      auto p = read_path(t.tid, t.args[i]);
      if (!p) continue;
      if (*p == r.path) {
        hit = true;
      } else if (!p->empty() && (*p)[0] != '/') {
        // Relative: to the cwd, or to the directory fd before it (the *at calls).
        bool at_fd = i > 0 && static_cast<int>(t.args[i - 1]) != AT_FDCWD;
        std::string base =
            at_fd ? link_text(fmt::format("/proc/{}/fd/{}", t.tid, static_cast<int>(t.args[i - 1])))
                  : link_text(fmt::format("/proc/{}/cwd", t.tid));
        hit = !base.empty() && (base == "/" ? "/" + *p : base + "/" + *p) == r.path;
      }
    }
    // A call on an fd: the file it is open on.
    if (!which && (syscall_classes(t.nr) & kClassDesc))
      hit = link_text(fmt::format("/proc/{}/fd/{}", t.tid, static_cast<int>(t.args[0]))) == r.path;
    if (!hit) return false;
  }
  return true;
}

void Tracer::inject_entry(Task& t) {
  t.injected = t.tampered = false;
  t.inject_sig = 0;
  t.delay_exit_ns = 0;
  if (opts_.inject.empty() || t.pre_exec || limit_reached_ || t.nr < 0) return;
  // Without -f only the launched process: its children are followed (see
  // the Tracer's constructor) but not changed.
  if (t.hidden) return;
  const auto nr = static_cast<size_t>(t.nr);
  for (size_t i = 0; i < opts_.inject.size(); ++i) {
    const InjectRule& r = opts_.inject[i];
    if (nr >= r.syscalls.size() || !r.syscalls[nr]) continue;
    if ((r.fd || r.peer || !r.path.empty()) && !args_match(t, r)) continue;
    uint64_t n = ++t.inject_calls[(uint64_t{i} << 32) | nr];
    if (!r.when.fires(n)) continue;
    if (opts_.inject_probability < 1.0 &&
        std::uniform_real_distribution<double>(0.0, 1.0)(rng_) >= opts_.inject_probability)
      continue;
    t.injected = true;
    if (r.skips_call() && !t.tampered) {
      t.tampered = true;
      t.inject_ret = r.error ? -int64_t{*r.error} : *r.retval;
    }
    if (r.signal && !t.inject_sig) t.inject_sig = r.signal;
    t.hold_ns += r.delay_enter_ns;
    t.delay_exit_ns += r.delay_exit_ns;
  }
  if (!t.injected) return;
  InjectCount& c = injected_[t.nr];
  int64_t now = real_ns();
  if (c.count++ == 0) c.first_ns = now;
  c.last_ns = now;
  ++injected_total_;
  if (opts_.inject_limit && injected_total_ >= opts_.inject_limit) limit_reached_ = true;
  // Sent now, pending while it is stopped: delivered when the call returns
  // (a blocking call is interrupted by it). A restart with a signal is not
  // one from a seccomp stop.
  if (t.inject_sig) ::syscall(SYS_tgkill, t.tgid, t.tid, t.inject_sig);
  t.inject_sig = 0;
  if (t.tampered) {
    // The number first: if the result cannot be written, the call is still
    // skipped (and answered ENOSYS), never run.
    if (t.att.set_reg(offsetof(user_regs_struct, orig_rax), static_cast<uint64_t>(-1)) == Op::kDone)
      (void)t.att.set_reg(offsetof(user_regs_struct, rax), static_cast<uint64_t>(t.inject_ret));
  }
}

int64_t Tracer::inject_exit(Task& t, int64_t ret) {
  if (t.tampered) {
    (void)t.att.set_reg(offsetof(user_regs_struct, rax), static_cast<uint64_t>(t.inject_ret));
    ret = t.inject_ret;
    t.tampered = false;
  }
  t.hold_ns += t.delay_exit_ns;
  t.delay_exit_ns = 0;
  return ret;
}

void Tracer::release_due() {
  int64_t now = mono_ns();
  while (!held_.empty() && held_.begin()->first <= now) {
    pid_t tid = held_.begin()->second;
    held_.erase(held_.begin());
    auto it = tasks_.find(tid);
    if (it == tasks_.end() || !it->second.held) continue;
    Task& t = it->second;
    t.held = false;
    Resume how = seccomp_ && !t.in_syscall ? Resume::kCont : Resume::kSyscall;
    (void)t.att.resume(how, t.held_sig);
    t.held_sig = 0;
  }
}

void Tracer::arm_timer() {
  if (!timer_made_) {
    if (held_.empty() && !unfinished_due_) return;
    sigevent sev{};
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = kick_signal();
    sev._sigev_un._tid = tracer_tid_ ? tracer_tid_ : static_cast<pid_t>(::syscall(SYS_gettid));
    timer_made_ = true;
    // A timer id may be 0: whether it exists is timer_ok_.
    timer_ok_ = ::timer_create(CLOCK_MONOTONIC, &sev, &timer_) == 0;
    if (!timer_ok_)
      notes_.push_back(fmt::format(
          "no timer ({}): injected delays end, and blocked calls are shown, at the next stop",
          std::strerror(errno)));
  }
  if (!timer_ok_) return;
  int64_t due = held_.empty() ? 0 : held_.begin()->first;
  if (unfinished_due_ && (!due || unfinished_due_ < due)) due = unfinished_due_;
  if (due == timer_due_) return;
  timer_due_ = due;
  itimerspec its{};
  if (due) {
    its.it_value.tv_sec = due / 1000000000;
    its.it_value.tv_nsec = due % 1000000000;
    // Again every 2 ms until released: a tick that lands before waitpid()
    // is entered is not lost for long.
    its.it_interval.tv_nsec = 2000000;
  }
  (void)::timer_settime(timer_, TIMER_ABSTIME, &its, nullptr);
}

void Tracer::inject_summary(json& out) const {
  if (opts_.inject.empty()) return;
  json list = json::array();
  uint64_t total = 0;
  for (const auto& [nr, c] : injected_) {
    list.push_back({{"name", syscall_label(nr)},
                    {"nr", nr},
                    {"count", c.count},
                    {"first_ns", c.first_ns},
                    {"last_ns", c.last_ns}});
    total += c.count;
  }
  out["injected"] = std::move(list);
  out["injected_total"] = total;
}

}  // namespace sonde::ptrace
