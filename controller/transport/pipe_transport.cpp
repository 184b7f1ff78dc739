#include "pipe_transport.h"

#include <fcntl.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>

#include "sonde/common/io.h"

namespace sonde::controller {

namespace {
thread_local FILE* t_stderr = nullptr;
}  // namespace

void set_thread_stderr(FILE* f) {
  t_stderr = f;
}

void StderrTail::add(const char* data, size_t n, bool relay) {
  if (relay && t_stderr) {
    std::fwrite(data, 1, n, t_stderr);
  } else if (relay) {
    ssize_t w = ::write(2, data, n);
    (void)w;
  }
  tail_.append(data, n);
  if (tail_.size() > 4096) tail_.erase(0, tail_.size() - 4096);
}

std::string StderrTail::last_line() const {
  std::string t = tail_;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

PipeTransport::PipeTransport(Child child, std::string label, bool relay_stderr, bool local_target)
    : child_(std::move(child)),
      label_(std::move(label)),
      relay_(relay_stderr),
      local_(local_target) {
  if (child_.err().valid()) ::fcntl(child_.err().get(), F_SETFL, O_NONBLOCK);
}

PipeTransport::~PipeTransport() {
  close();
}

Status PipeTransport::write(std::string_view data) {
  if (!child_.in().valid()) return Error{errc::kAgent, "agent stream already closed", {}};
  auto st = write_all(child_.in().get(), data);
  if (!st.ok()) return explain_eof();
  return ok_status();
}

void PipeTransport::drain_stderr() {
  if (!child_.err().valid()) return;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(child_.err().get(), buf, sizeof buf);
    if (n > 0) {
      tail_.add(buf, static_cast<size_t>(n), relay_);
      continue;
    }
    if (n == 0) child_.err().reset();
    return;
  }
}

Result<ReadResult> PipeTransport::read(char* buf, size_t len, int timeout_ms) {
  if (!child_.out().valid()) return ReadResult{0, true};
  pollfd fds[2] = {{child_.out().get(), POLLIN, 0}, {child_.err().get(), POLLIN, 0}};
  int nfds = child_.err().valid() ? 2 : 1;
  int r;
  do r = ::poll(fds, nfds, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r < 0) return errno_error("poll");
  if (nfds == 2 && fds[1].revents) drain_stderr();
  if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) return ReadResult{};
  auto n = read_some(child_.out().get(), buf, len);
  if (!n) return n.error();
  if (*n == 0) {
    drain_stderr();
    return ReadResult{0, true};
  }
  return ReadResult{*n, false};
}

void PipeTransport::close() {
  child_.in().reset();
  // The agent exits within a second of EOF. Until then keep relaying its
  // stderr: the last lines a launched command printed travel there.
  long deadline_ms = 1500;
  while (child_.err().valid() && deadline_ms > 0) {
    pollfd p{child_.err().get(), POLLIN, 0};
    int r = ::poll(&p, 1, 50);
    if (r < 0 && errno != EINTR) break;
    deadline_ms -= 50;
    if (r > 0) drain_stderr();
  }
  child_.out().reset();
  if (!child_.exited() && !child_.wait(std::max(1L, deadline_ms))) {
    child_.kill(SIGKILL);
    child_.wait(-1);
  }
}

Error PipeTransport::explain_eof() {
  drain_stderr();
  child_.in().reset();
  auto st = child_.wait(1000);
  std::string how = st ? describe_wait_status(*st) : "still running but closed its output";
  std::string last = tail_.last_line();
  std::string msg = fmt::format("agent ({}) ended the session: {}", label_, how);
  if (!last.empty()) msg += ": " + last;
  std::string hint;
  if (last.find("password is required") != std::string::npos)
    hint = "sudo wants a password: configure NOPASSWD for sonde-agent, or run without --sudo";
  else if (st && WIFEXITED(*st) && WEXITSTATUS(*st) == 127)
    hint = "the agent command was not found: check --agent PATH or the --via command";
  else
    hint = "rerun with -v to see the agent's log";
  return Error{errc::kAgent, msg, hint};
}

Result<std::unique_ptr<Transport>> open_local(const std::string& agent_path, bool sudo,
                                              int verbosity) {
  if (::access(agent_path.c_str(), X_OK) != 0)
    return Error{errc::kAgent, "no agent at " + agent_path,
                 "build it (./scripts/build.sh) or pass --agent PATH"};
  std::vector<std::string> argv;
  if (sudo) argv = {"sudo", "-n", "--"};
  argv.push_back(agent_path);
  argv.push_back("serve");
  if (verbosity >= 2) argv.push_back("-v");
  SpawnOptions o;
  o.pipe_stderr = true;
  // Its own process group: a terminal's Ctrl-C reaches only us, and we turn
  // it into a `cancel`, so work that must finish on a cancel (a recording
  // fetched early, a debugger's process released) is not cut short.
  o.new_process_group = true;
  auto c = spawn(argv, o);
  if (!c) return c.error();
  return std::unique_ptr<Transport>(
      new PipeTransport(std::move(*c), sudo ? "local (sudo)" : "local", true, true));
}

namespace {

// `local` with no agent behind it: forwards connect from this machine, and
// nothing speaks the protocol.
class LocalLink : public Transport {
 public:
  Status write(std::string_view) override { return no_agent(); }
  Result<ReadResult> read(char*, size_t, int) override { return no_agent(); }
  void close() override {}
  std::string describe() const override { return "local"; }
  Error explain_eof() override { return no_agent(); }
  bool forwards_directly() const override { return true; }

 private:
  static Error no_agent() {
    return Error{errc::kInternal, "this connection has no agent (opened for forwarding only)", {}};
  }
};

}  // namespace

std::unique_ptr<Transport> open_local_link() {
  return std::make_unique<LocalLink>();
}

Result<std::unique_ptr<Transport>> open_via(const std::string& command, int /*verbosity*/) {
  SpawnOptions o;
  o.pipe_stderr = true;
  o.new_process_group = true;  // as for `local`: Ctrl-C becomes a cancel, not a kill
  auto c = spawn({"/bin/sh", "-c", command}, o);
  if (!c) return c.error();
  return std::unique_ptr<Transport>(
      new PipeTransport(std::move(*c), "via '" + command + "'", true));
}

}  // namespace sonde::controller
