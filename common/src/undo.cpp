#include "sonde/common/undo.h"

#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "sonde/common/io.h"

namespace sonde::undo {
namespace {

// -2: no watchdog in this process (registrations are no-ops); -1: the agent
// wanted one and it is not there; >= 0: the socket to it.
std::atomic<int> g_fd{-2};
std::atomic<uint64_t> g_next_id{1};
std::mutex g_why_mu;
std::string g_why;

Error missing(const std::string& why) {
  return Error{errc::kAgent,
               "the undo watchdog is not running (" + why +
                   "): sonde makes no change to a process without it",
               "each agent starts its own: run the command again; if this repeats, check the "
               "target's process limit (ulimit -u) and free memory"};
}

// One message, sent whole or not at all (SOCK_SEQPACKET).
bool send_msg(int fd, const json& msg) {
  std::vector<uint8_t> bytes = json::to_msgpack(msg);
  for (;;) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(bytes.size())) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

}  // namespace

void connect(int fd, const std::string& why) {
  if (fd < 0) {
    std::lock_guard<std::mutex> g(g_why_mu);
    g_why = why.empty() ? "it could not be started" : why;
  }
  g_fd = fd < 0 ? -1 : fd;
}

bool connected() {
  return g_fd.load() >= 0;
}

uint64_t start_time(pid_t pid) {
  auto s = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!s) return 0;
  // Field 2 (comm) may hold spaces and ')': count fields after the last ')'.
  size_t p = s->rfind(')');
  if (p == std::string::npos) return 0;
  int field = 2;
  size_t i = p + 1;
  while (i < s->size() && field < 22) {
    if ((*s)[i] == ' ') {
      ++field;
      while (i < s->size() && (*s)[i] == ' ') ++i;
      continue;
    }
    ++i;
  }
  if (field != 22) return 0;
  return std::strtoull(s->c_str() + i, nullptr, 10);
}

Result<Change> register_change(const std::string& kind, pid_t pid, json args) {
  int fd = g_fd.load();
  if (fd == -2) return Change{};
  if (fd == -1) {
    std::lock_guard<std::mutex> g(g_why_mu);
    return missing(g_why);
  }
  uint64_t start = 0;
  if (pid > 0) {
    start = start_time(pid);
    if (start == 0) return Error{errc::kNotFound, fmt::format("process {} is gone", pid), {}};
  }
  uint64_t id = g_next_id++;
  json msg = {{"op", "add"}, {"id", id},       {"kind", kind},
              {"pid", pid},  {"start", start}, {"args", std::move(args)}};
  if (!send_msg(fd, msg)) return missing(fmt::format("its socket: {}", std::strerror(errno)));
  return Change{id};
}

void Change::forget() {
  if (id_ == 0) return;
  int fd = g_fd.load();
  // Nothing to do if this send fails: the watchdog is gone, and with it the
  // record (or it will undo a change already undone, which every action
  // tolerates).
  if (fd >= 0) (void)send_msg(fd, json{{"op", "del"}, {"id", id_}});
  id_ = 0;
}

}  // namespace sonde::undo
