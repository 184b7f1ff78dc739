#include "debuginfod.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"

namespace sonde::profiler {
namespace {

constexpr size_t kMaxOutput = 64 << 10;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The last line of what the tool wrote to stderr, bounded: its reason.
std::string last_line(const std::string& text) {
  std::string t = trim(text);
  auto nl = t.rfind('\n');
  if (nl != std::string::npos) t = t.substr(nl + 1);
  if (t.size() > 200) t.resize(200);
  return t;
}

}  // namespace

Result<std::string> debuginfod_find_debuginfo(const std::string& build_id, int timeout_ms) {
  if (!valid_build_id(build_id))
    return Error{errc::kBadArgs, "debuginfod: not a build-id: " + build_id.substr(0, 64), {}};
  SpawnOptions o;
  o.pipe_stdin = false;
  o.pipe_stderr = true;  // its complaints become our note, not agent log noise
  // LC_ALL=C: its reason is a strerror text, and we tell a miss from a
  // broken server by it.
  auto child = spawn({"/usr/bin/env", "LC_ALL=C", "debuginfod-find", "debuginfo", build_id}, o);
  if (!child) return child.error();
  long deadline = monotonic_ms() + timeout_ms;
  std::string out, err;
  bool out_open = true, err_open = true;
  char buf[4096];
  while (out_open || err_open) {
    long left = deadline - monotonic_ms();
    if (left <= 0) {
      child->kill(SIGKILL);
      return Error{errc::kTimeout,
                   "debuginfod-find debuginfo " + build_id + " did not finish in " +
                       std::to_string(timeout_ms / 1000) + "s",
                   "check DEBUGINFOD_URLS and that the server is reachable"};
    }
    pollfd fds[2] = {{out_open ? child->out().get() : -1, POLLIN, 0},
                     {err_open ? child->err().get() : -1, POLLIN, 0}};
    int r = ::poll(fds, 2, static_cast<int>(std::min<long>(left, 1000)));
    if (r < 0 && errno != EINTR) return errno_error("poll");
    if (r <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      auto n = read_some(fds[i].fd, buf, sizeof buf);
      std::string& sink = i == 0 ? out : err;
      if (!n || *n == 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      if (sink.size() < kMaxOutput) sink.append(buf, *n);
    }
  }
  auto st = child->wait(static_cast<int>(std::max<long>(1, deadline - monotonic_ms())));
  if (!st) {
    child->kill(SIGKILL);
    return Error{errc::kTimeout, "debuginfod-find did not exit in time",
                 "check DEBUGINFOD_URLS and that the server is reachable"};
  }
  std::string path = trim(out);
  if (auto nl = path.find('\n'); nl != std::string::npos) path.resize(nl);
  if (WIFEXITED(*st) && WEXITSTATUS(*st) == 0 && !path.empty()) return path;
  if (WIFEXITED(*st) && WEXITSTATUS(*st) == 127)  // env found no such program
    return Error::sys(errc::kNotFound, ENOENT, "debuginfod-find is not installed",
                      "apt-get install debuginfod");
  std::string why = last_line(err);
  if (why.empty()) why = describe_wait_status(*st);
  // A 404 reads "Server query failed: No such file or directory"; anything
  // else (refused, no route, TLS) is about the servers, not this build-id.
  if (why.find("No such file or directory") != std::string::npos)
    return Error{errc::kNotFound, why, {}};
  return Error{errc::kConnect, why, "check DEBUGINFOD_URLS and that the server is reachable"};
}

DebuginfodClient::DebuginfodClient(int timeout_ms) : timeout_ms_(timeout_ms) {
  const char* urls = std::getenv("DEBUGINFOD_URLS");
  configured_ = urls != nullptr && urls[0] != '\0';
}

bool DebuginfodClient::enabled() const {
  return configured_ &&
         (problem_.empty() || monotonic_ms() - problem_since_ms_ >= kDebuginfodRetryMs);
}

std::string DebuginfodClient::find(const std::string& build_id, std::string* why_not) {
  if (auto it = answers_.find(build_id); it != answers_.end()) {
    if (why_not) *why_not = it->second.why_not;
    return it->second.path;
  }
  if (!enabled()) {
    if (why_not) *why_not = configured_ ? problem_ : "DEBUGINFOD_URLS is not set";
    return {};
  }
  auto r = debuginfod_find_debuginfo(build_id, timeout_ms_);
  if (r) {
    problem_.clear();
    return answers_[build_id].path = *r;
  }
  const Error& e = r.error();
  if (why_not) *why_not = e.message;
  // A missing tool or an unreachable server fails the same way for every
  // build-id: stop paying for it for a while, and do not remember the
  // build-id as missing.
  if (e.code == errc::kTimeout || e.code == errc::kConnect || e.sys_errno != 0) {
    problem_ = e.message;
    if (!e.hint.empty()) problem_ += "; " + e.hint;
    problem_since_ms_ = monotonic_ms();
    problem_taken_ = false;
    return {};
  }
  problem_.clear();
  answers_[build_id].why_not = e.message;
  return {};
}

std::string DebuginfodClient::take_problem() {
  if (problem_.empty() || problem_taken_) return {};
  problem_taken_ = true;
  return "DEBUGINFOD_URLS not used: " + problem_;
}

bool valid_build_id(const std::string& id) {
  if (id.size() < 2 || id.size() > 128 || id.size() % 2 != 0) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace sonde::profiler
