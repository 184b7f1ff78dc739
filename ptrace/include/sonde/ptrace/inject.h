// Syscall fault injection rules: strace's -e inject= (and fault=) syntax and
// meaning, plus sonde's argument filters. A rule is
//
//   SET:error=ERRNO|retval=N|signal=SIG|delay_enter=D|delay_exit=D[:when=EXPR]
//      [:fd=N][:peer=ADDR[:PORT]][:path=PATH]
//
// SET is a -e trace= set (names, %classes, `!`). error= and retval= are
// exclusive; at least one action is given. D is microseconds, or a number
// with ns, us, ms or s. when=F (the F-th call only), F..L, F+ (F-th and
// every later), F+S (F, F+S, F+2S...), F..L+S; without when, every call.
// Calls are counted per rule, per syscall and per thread (strace's tracee),
// and only calls that pass the rule's argument filters count. path= takes
// the rest of the expression (a path may hold ':').
//
// Several rules may name the same syscall: each counts its own calls, and
// on a call where more than one fires, the first (in the order given) with
// error= or retval= sets the result, the first with signal= sends its
// signal, and the delays add up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sonde/common/result.h"

namespace sonde::ptrace {

inline constexpr uint64_t kWhenForever = UINT64_MAX;

struct InjectWhen {
  uint64_t first = 1;
  uint64_t last = kWhenForever;
  uint64_t step = 1;
  // Whether the n-th counted call (1-based) fires.
  bool fires(uint64_t n) const { return n >= first && n <= last && (n - first) % step == 0; }
};

struct InjectPeer {
  int family = 0;               // AF_INET or AF_INET6
  unsigned char addr[16] = {};  // network order; 4 bytes for AF_INET
  int port = -1;                // -1: any port
};

struct InjectRule {
  std::string text;            // as given (after inject=/fault=)
  std::vector<bool> syscalls;  // by number
  std::optional<int> error;    // errno to return
  std::optional<int64_t> retval;
  int signal = 0;
  int64_t delay_enter_ns = 0;
  int64_t delay_exit_ns = 0;
  InjectWhen when;
  std::optional<int> fd;           // the call's first argument is this fd
  std::optional<InjectPeer> peer;  // connect/sendto/sendmsg/bind to this address
  std::string path;                // a path argument (or the fd's file) is this path
  bool skips_call() const { return error.has_value() || retval.has_value(); }
};

// One rule from what follows `inject=` (fault=: the same, with error=ENOSYS
// when no action is given, as in strace). Errors are errc::kBadArgs with a
// hint in strace's terms.
Result<InjectRule> parse_inject_rule(std::string_view expr, bool fault = false);

// ERRNO by name ("ENOENT") or number. (A signal by name: sonde::signal_number.)
std::optional<int> errno_from_name(std::string_view name);

// "2..6+2" and friends; nullopt when malformed.
std::optional<InjectWhen> parse_when(std::string_view expr);

// "10.0.0.5", "10.0.0.5:5432", "[::1]:80", "::1".
std::optional<InjectPeer> parse_peer(std::string_view text);

// Which arguments of nr are paths (bit i: argument i); 0 for none.
unsigned path_args(long nr);
// The argument index holding a sockaddr (connect, bind, sendto, sendmsg's
// msghdr is handled by the tracer), -1 for none.
int sockaddr_arg(long nr);

// The rule in words, for --plan: "openat: fail with ENOENT, on calls 3, 5,
// 7... of each thread, when the path is /etc/hosts".
std::string describe(const InjectRule& r);

}  // namespace sonde::ptrace
