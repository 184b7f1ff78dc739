#include "sonde/ptrace/inject.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "sonde/ptrace/syscalls.h"
#include "sonde/ptrace/tracer.h"

namespace sonde::ptrace {
namespace {

Error bad(std::string msg, std::string hint) {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

const char* kRuleHint =
    "e.g. -e inject=openat:error=ENOENT:when=3+ or -e inject=read:delay_enter=10ms; "
    "actions: error= retval= signal= delay_enter= delay_exit=";

std::optional<uint64_t> to_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<int64_t> to_i64(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// strace's delays: microseconds, or a number with a unit.
std::optional<int64_t> parse_delay_ns(std::string_view s) {
  struct Unit {
    const char* suffix;
    int64_t ns;
  };
  static const Unit kUnits[] = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};
  int64_t mult = 1000;
  for (const auto& u : kUnits) {
    size_t n = std::strlen(u.suffix);
    if (s.size() > n && s.substr(s.size() - n) == u.suffix) {
      // "ms" ends with "s": the longer suffixes are tried first.
      s.remove_suffix(n);
      mult = u.ns;
      break;
    }
  }
  auto v = to_u64(s);
  // At most an hour: a longer stop is a hung process, not a delay.
  if (!v || *v > uint64_t{3600} * 1000000000 / static_cast<uint64_t>(mult)) return std::nullopt;
  return static_cast<int64_t>(*v) * mult;
}

std::string when_text(const InjectWhen& w) {
  if (w.first == 1 && w.last == kWhenForever && w.step == 1) return "every call";
  if (w.first == w.last) return fmt::format("call {} only", w.first);
  std::string calls;
  uint64_t shown = 0;
  for (uint64_t n = w.first; n <= w.last && shown < 3; n += w.step, ++shown) {
    calls += fmt::format("{}{}", shown ? ", " : "", n);
    if (w.last - n < w.step) break;
  }
  bool more = w.last == kWhenForever || w.first + 3 * w.step <= w.last;
  if (more) calls += w.last == kWhenForever ? "..." : fmt::format("... up to {}", w.last);
  return "calls " + calls;
}

std::string delay_text(int64_t ns) {
  if (ns % 1000000000 == 0) return fmt::format("{} s", ns / 1000000000);
  if (ns % 1000000 == 0) return fmt::format("{} ms", ns / 1000000);
  if (ns % 1000 == 0) return fmt::format("{} us", ns / 1000);
  return fmt::format("{} ns", ns);
}

std::string peer_text(const InjectPeer& p) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(p.family, p.addr, buf, sizeof buf);
  if (p.port < 0) return buf;
  return p.family == AF_INET6 ? fmt::format("[{}]:{}", buf, p.port)
                              : fmt::format("{}:{}", buf, p.port);
}

}  // namespace

std::optional<int> errno_from_name(std::string_view name) {
  if (auto v = to_u64(name); v && *v > 0 && *v < 4096) return static_cast<int>(*v);
  for (int e = 1; e < 4096; ++e)
    if (const char* n = errno_name(e); n && name == n) return e;
  return std::nullopt;
}

std::optional<InjectWhen> parse_when(std::string_view expr) {
  InjectWhen w;
  std::string_view step;
  bool plus = false;
  if (auto p = expr.find('+'); p != std::string_view::npos) {
    plus = true;
    step = expr.substr(p + 1);
    expr = expr.substr(0, p);
  }
  std::string_view first = expr, last;
  bool range = false;
  if (auto d = expr.find(".."); d != std::string_view::npos) {
    range = true;
    first = expr.substr(0, d);
    last = expr.substr(d + 2);
  }
  auto f = to_u64(first);
  if (!f || *f == 0) return std::nullopt;
  w.first = *f;
  if (range) {
    auto l = to_u64(last);
    if (!l || *l < w.first) return std::nullopt;
    w.last = *l;
  } else {
    w.last = plus ? kWhenForever : w.first;
  }
  if (plus && !step.empty()) {
    auto s = to_u64(step);
    if (!s || *s == 0) return std::nullopt;
    w.step = *s;
  }
  return w;
}

std::optional<InjectPeer> parse_peer(std::string_view text) {
  InjectPeer p;
  std::string host(text);
  std::string port;
  if (!host.empty() && host[0] == '[') {
    auto close = host.find(']');
    if (close == std::string::npos) return std::nullopt;
    std::string rest = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    auto colon = host.find(':');
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (::inet_pton(AF_INET, host.c_str(), p.addr) == 1) {
    p.family = AF_INET;
  } else if (::inet_pton(AF_INET6, host.c_str(), p.addr) == 1) {
    p.family = AF_INET6;
  } else {
    return std::nullopt;
  }
  if (!port.empty()) {
    auto v = to_u64(port);
    if (!v || *v > 65535) return std::nullopt;
    p.port = static_cast<int>(*v);
  }
  return p;
}

Result<InjectRule> parse_inject_rule(std::string_view expr, bool fault) {
  InjectRule r;
  r.text = std::string(expr);
  const char* what = fault ? "fault" : "inject";
  auto colon = expr.find(':');
  std::string_view set = expr.substr(0, colon);
  if (set.empty()) return bad(fmt::format("-e {}= needs a syscall set", what), kRuleHint);
  auto syscalls = parse_trace_filter(set);
  if (!syscalls) return bad(syscalls.error().message, kRuleHint);
  r.syscalls = std::move(*syscalls);
  bool any = false;
  for (bool b : r.syscalls) any = any || b;
  if (!any) return bad(fmt::format("-e {}={} names no syscall", what, set), kRuleHint);

  std::string_view rest = colon == std::string_view::npos ? "" : expr.substr(colon + 1);
  bool acted = false;
  while (!rest.empty()) {
    // path= runs to the end: a path may hold ':'.
    if (rest.substr(0, 5) == "path=") {
      r.path = std::string(rest.substr(5));
      if (r.path.empty()) return bad("path= needs a path", "e.g. :path=/etc/hosts");
      break;
    }
    auto next = rest.find(':');
    // peer= may hold ':' (a port, IPv6): it runs up to the next KEY=.
    if (rest.substr(0, 5) == "peer=")
      while (next != std::string_view::npos) {
        auto after = rest.find(':', next + 1);
        std::string_view seg = rest.substr(next + 1, after - next - 1);
        if (seg.find('=') != std::string_view::npos) break;
        next = after;
      }
    std::string_view kv = rest.substr(0, next);
    rest = next == std::string_view::npos ? "" : rest.substr(next + 1);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos)
      return bad(fmt::format("`{}` in -e {}= is not KEY=VALUE", kv, what), kRuleHint);
    std::string_view key = kv.substr(0, eq), val = kv.substr(eq + 1);
    if (key == "error") {
      auto e = errno_from_name(val);
      if (!e) return bad(fmt::format("unknown errno `{}`", val), "e.g. error=ENOENT or error=5");
      r.error = *e;
      acted = true;
    } else if (key == "retval") {
      auto v = to_i64(val);
      if (!v) return bad(fmt::format("retval=`{}` is not a number", val), "e.g. retval=0");
      // A negative errno-range value would read as an error: that is error=.
      if (*v < 0 && *v > -4096)
        return bad(fmt::format("retval={} is in the errno range", *v),
                   fmt::format("use error={}", -*v));
      r.retval = *v;
      acted = true;
    } else if (key == "signal") {
      auto s = signal_number(val);
      if (!s) return bad(fmt::format("unknown signal `{}`", val), "e.g. signal=SIGUSR1");
      r.signal = *s;
      acted = true;
    } else if (key == "delay_enter" || key == "delay_exit") {
      auto d = parse_delay_ns(val);
      if (d && *d == 0)
        return bad(fmt::format("{}=0 holds nothing", key), "give a delay, e.g. 10ms or 500us");
      if (!d)
        return bad(fmt::format("{}=`{}` is not a delay", key, val),
                   "microseconds, or with a unit: 500us, 10ms, 2s (at most an hour)");
      (key == "delay_enter" ? r.delay_enter_ns : r.delay_exit_ns) = *d;
      acted = true;
    } else if (key == "when") {
      auto w = parse_when(val);
      if (!w)
        return bad(fmt::format("when=`{}` is not a call range", val),
                   "when=F, F..L, F+, F+S or F..L+S, counting from 1 (e.g. when=3+2)");
      r.when = *w;
    } else if (key == "fd") {
      auto v = to_u64(val);
      if (!v || *v > INT32_MAX) return bad(fmt::format("fd=`{}` is not an fd", val), "e.g. fd=3");
      r.fd = static_cast<int>(*v);
    } else if (key == "peer") {
      auto p = parse_peer(val);
      if (!p)
        return bad(fmt::format("peer=`{}` is not an address", val),
                   "an IP address with an optional port: 10.0.0.5:5432, [::1]:80");
      r.peer = *p;
    } else {
      return bad(fmt::format("unknown key `{}` in -e {}=", key, what),
                 "keys: error retval signal delay_enter delay_exit when fd peer path");
    }
  }
  if (r.error && r.retval) return bad("error= and retval= exclude each other", kRuleHint);
  if (!acted) {
    if (!fault) return bad(fmt::format("-e inject={} says nothing to inject", set), kRuleHint);
    r.error = ENOSYS;
  }
  return r;
}

unsigned path_args(long nr) {
  switch (nr) {
    case SYS_open:
    case SYS_creat:
    case SYS_stat:
    case SYS_lstat:
    case SYS_access:
    case SYS_execve:
    case SYS_truncate:
    case SYS_chdir:
    case SYS_mkdir:
    case SYS_rmdir:
    case SYS_unlink:
    case SYS_readlink:
    case SYS_chmod:
    case SYS_chown:
    case SYS_lchown:
    case SYS_mknod:
    case SYS_statfs:
    case SYS_chroot:
    case SYS_acct:
    case SYS_setxattr:
    case SYS_lsetxattr:
    case SYS_getxattr:
    case SYS_lgetxattr:
    case SYS_listxattr:
    case SYS_llistxattr:
    case SYS_removexattr:
    case SYS_lremovexattr:
    case SYS_utime:
    case SYS_utimes:
    case SYS_uselib:
    case SYS_swapon:
    case SYS_swapoff:
      return 1u << 0;
    case SYS_rename:
    case SYS_link:
    case SYS_symlink:
      return (1u << 0) | (1u << 1);
    case SYS_openat:
    case SYS_openat2:
    case SYS_newfstatat:
    case SYS_faccessat:
    case SYS_faccessat2:
    case SYS_mkdirat:
    case SYS_mknodat:
    case SYS_fchownat:
    case SYS_futimesat:
    case SYS_unlinkat:
    case SYS_readlinkat:
    case SYS_fchmodat:
    case SYS_utimensat:
    case SYS_execveat:
    case SYS_statx:
    case SYS_name_to_handle_at:
      return 1u << 1;
    case SYS_symlinkat:
      return (1u << 0) | (1u << 2);
    case SYS_renameat:
    case SYS_renameat2:
    case SYS_linkat:
      return (1u << 1) | (1u << 3);
    default:
      return 0;
  }
}

int sockaddr_arg(long nr) {
  switch (nr) {
    case SYS_connect:
    case SYS_bind:
      return 1;
    case SYS_sendto:
      return 4;
    default:
      return -1;
  }
}

std::string describe(const InjectRule& r) {
  std::string names;
  size_t shown = 0, total = 0;
  for (size_t nr = 0; nr < r.syscalls.size(); ++nr) {
    if (!r.syscalls[nr]) continue;
    if (++total <= 6) names += fmt::format("{}{}", shown++ ? "," : "", syscall_label(nr));
  }
  if (total > shown) names += fmt::format(" and {} more", total - shown);
  std::vector<std::string> acts;
  if (r.error)
    acts.push_back(fmt::format(
        "fail with {}", errno_name(*r.error) ? errno_name(*r.error) : std::to_string(*r.error)));
  if (r.retval) acts.push_back(fmt::format("return {} without running it", *r.retval));
  if (r.signal)
    acts.push_back(fmt::format("send {}", signal_name(r.signal) ? signal_name(r.signal) : "?"));
  if (r.delay_enter_ns)
    acts.push_back(fmt::format("hold {} before it runs", delay_text(r.delay_enter_ns)));
  if (r.delay_exit_ns)
    acts.push_back(fmt::format("hold {} after it returns", delay_text(r.delay_exit_ns)));
  std::string s = names + ": ";
  for (size_t i = 0; i < acts.size(); ++i) s += (i ? ", " : "") + acts[i];
  s += "; " + when_text(r.when) + " of each thread";
  if (r.fd) s += fmt::format(", when the fd is {}", *r.fd);
  if (r.peer) s += fmt::format(", when the address is {}", peer_text(*r.peer));
  if (!r.path.empty()) s += fmt::format(", when the path is {}", r.path);
  return s;
}

}  // namespace sonde::ptrace
