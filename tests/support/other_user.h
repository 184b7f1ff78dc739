// Header-only test support: a second, unprivileged local user on this host,
// the attacker of the hardening tests ("another user on the target"). The
// user is created once with useradd (needs root) and kept: it owns nothing
// and has no shell. Commands run as it through a child that drops to its
// uid/gid with no supplementary groups, bounded in time.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace sonde::testing {

struct OtherUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The test's second user, created on first use. nullopt (with *why set) when
// this process is not root or useradd is missing: callers GTEST_SKIP with it.
// A test that counts the user's processes (RLIMIT_NPROC) names a user of its
// own, that no other test runs as at the same time.
inline std::optional<OtherUser> other_user(std::string* why, const char* kName = "sonde-other") {
  if (::geteuid() != 0) {
    if (why) *why = "needs root to create a second local user";
    return std::nullopt;
  }
  passwd* pw = ::getpwnam(kName);
  if (!pw) {
    std::string cmd = std::string("useradd --system --no-create-home --shell /usr/sbin/nologin ") +
                      kName + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0 && !::getpwnam(kName)) {
      if (why) *why = "useradd failed (is the passwd package installed?)";
      return std::nullopt;
    }
    pw = ::getpwnam(kName);
    if (!pw) {
      if (why) *why = "useradd ran but the user is not there";
      return std::nullopt;
    }
  }
  return OtherUser{kName, pw->pw_uid, pw->pw_gid};
}

struct RunResult {
  int exit_code = -1;  // 128+N for a signal, -1 when it could not start or timed out
  bool timed_out = false;
  std::string output;  // stdout and stderr together
};

// Runs argv (a path, not searched) as `u` with stdin on /dev/null, cwd /,
// and kills it after timeout_ms.
inline RunResult run_as(const OtherUser& u, const std::vector<std::string>& argv,
                        int timeout_ms = 10000) {
  RunResult r;
  if (argv.empty()) return r;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return r;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return r;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    if (::chdir("/") != 0) ::_exit(126);
    if (::setgroups(0, nullptr) != 0 || ::setgid(u.gid) != 0 || ::setuid(u.uid) != 0) ::_exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(p[1]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd pf{p[0], POLLIN, 0};
    if (::poll(&pf, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    if (r.output.size() < (1u << 20)) r.output.append(buf, static_cast<size_t>(n));
  }
  ::close(p[0]);
  if (r.timed_out) ::kill(-pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (!r.timed_out) r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

}  // namespace sonde::testing
