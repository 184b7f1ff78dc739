#include "sonde/common/signals.h"

#include <charconv>

#include <fmt/format.h>

namespace sonde {
namespace {

constexpr const char* kSignals[] = {
    nullptr,     "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
    "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
    "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
    "SIGXCPU",   "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS",
};

}  // namespace

const char* signal_name(int sig) {
  if (sig > 0 && sig < 32) return kSignals[sig];
  if (sig == 32) return "SIGRTMIN";
  // strace numbers the real-time signals from the kernel's SIGRTMIN (32).
  static const auto* rt = [] {
    auto* names = new std::string[33];
    for (int i = 1; i <= 32; ++i) names[i] = fmt::format("SIGRT_{}", i);
    return names;
  }();
  if (sig > 32 && sig <= 64) return rt[sig - 32].c_str();
  return nullptr;
}

std::string signal_text(int sig) {
  const char* n = signal_name(sig);
  return n ? std::string(n) : fmt::format("SIG{}", sig);
}

std::optional<int> signal_number(std::string_view name) {
  int v = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (ec == std::errc() && end == name.data() + name.size()) {
    if (v > 0 && v < 65) return v;
    return std::nullopt;
  }
  for (int s = 1; s < 65; ++s) {
    std::string_view full(signal_name(s));
    if (name == full || name == full.substr(3)) return s;
  }
  return std::nullopt;
}

}  // namespace sonde
