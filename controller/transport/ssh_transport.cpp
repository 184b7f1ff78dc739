#include "ssh_transport.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "sonde/common/io.h"
#include "sonde/common/log.h"
#include "sonde/common/subprocess.h"
#include "ssh_deploy.h"

namespace sonde::controller {
namespace {

// A refusal from the deploy snippets: stderr holds "sonde: WHAT" and
// "hint: NEXT STEP" lines.
Error refusal(const std::string& label, const std::string& err) {
  std::string what, hint;
  size_t p = 0;
  while (p < err.size()) {
    size_t e = err.find('\n', p);
    if (e == std::string::npos) e = err.size();
    std::string line = err.substr(p, e - p);
    if (line.rfind("sonde: ", 0) == 0 && what.empty()) what = line.substr(7);
    if (line.rfind("hint: ", 0) == 0 && hint.empty()) hint = line.substr(6);
    p = e + 1;
  }
  if (what.empty()) what = err;
  return Error{errc::kAgent, fmt::format("{}: refusing to run the agent: {}", label, what),
               hint.empty() ? "pass --remote-dir to a private folder of your own" : hint};
}

// The rest of a finished channel's stderr, bounded.
std::string read_stderr(ssh_channel ch) {
  std::string err;
  char buf[4096];
  long deadline = monotonic_ms() + 2000;
  while (err.size() < 65536 && monotonic_ms() < deadline) {
    int n = libssh().ssh_channel_read_timeout(ch, buf, sizeof buf, 1, 200);
    if (n <= 0) break;
    err.append(buf, static_cast<size_t>(n));
  }
  return err;
}

class SshTransport : public Transport {
 public:
  SshTransport(std::unique_ptr<SshConnection> conn, ssh_channel ch, std::string label)
      : conn_(std::move(conn)), ch_(ch), label_(std::move(label)) {
    ssh_callbacks_init(&cb_);
    cb_.userdata = this;
    cb_.channel_exit_signal_function = [](ssh_session, ssh_channel, const char* sig, int,
                                          const char*, const char*, void* self) {
      static_cast<SshTransport*>(self)->exit_signal_ = sig ? sig : "?";
    };
    libssh().ssh_set_channel_callbacks(ch_, &cb_);
  }
  ~SshTransport() override { close(); }

  Status write(std::string_view data) override {
    while (!data.empty()) {
      int n = libssh().ssh_channel_write(
          ch_, data.data(), static_cast<uint32_t>(std::min<size_t>(data.size(), 1 << 20)));
      if (n == SSH_ERROR) return explain_eof();
      data.remove_prefix(static_cast<size_t>(n));
    }
    return ok_status();
  }

  Result<ReadResult> read(char* buf, size_t len, int timeout_ms) override {
    drain_stderr();
    // Short slices so the agent's stderr is relayed while we wait.
    long deadline = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
    for (;;) {
      long left = deadline < 0 ? 100 : std::min<long>(100, deadline - monotonic_ms());
      if (left < 0) left = 0;
      int n = libssh().ssh_channel_read_timeout(ch_, buf, static_cast<uint32_t>(len), 0,
                                                static_cast<int>(left));
      if (n == SSH_ERROR) return conn_->ssh_error("ssh read");
      if (n > 0) return ReadResult{static_cast<size_t>(n), false};
      drain_stderr();
      if (libssh().ssh_channel_is_eof(ch_) || libssh().ssh_channel_is_closed(ch_))
        return ReadResult{0, true};
      if (deadline >= 0 && monotonic_ms() >= deadline) return ReadResult{};
    }
  }

  void close() override {
    if (!ch_) return;
    if (libssh().ssh_channel_is_open(ch_)) {
      libssh().ssh_channel_send_eof(ch_);
      // Give the agent its moment to cancel work and detach before the
      // channel goes; sshd would otherwise HUP it.
      char buf[4096];
      long deadline = monotonic_ms() + 1500;
      while (!libssh().ssh_channel_is_eof(ch_) && monotonic_ms() < deadline) {
        if (libssh().ssh_channel_read_timeout(ch_, buf, sizeof buf, 0, 100) == SSH_ERROR) break;
        drain_stderr();  // a launched command's last output travels there
      }
      drain_stderr();
      libssh().ssh_channel_close(ch_);
    }
    libssh().ssh_channel_free(ch_);
    ch_ = nullptr;
    conn_.reset();
  }

  std::string describe() const override { return label_; }
  SshConnection* ssh_connection() override { return conn_.get(); }

  Error explain_eof() override {
    drain_stderr();
    std::string how;
    bool ended = libssh().ssh_channel_is_eof(ch_) || libssh().ssh_channel_is_closed(ch_);
    // sshd sends EOF when the agent's stdout closes but exit-signal only after
    // it reaped the agent: get_exit_status waits (bounded by the session
    // timeout) for whichever of exit-status/exit-signal/close comes, and our
    // callback records a signal on the way.
    int st = ended ? libssh().ssh_channel_get_exit_status(ch_) : -1;
    drain_stderr();
    if (!exit_signal_.empty()) {
      how = "agent killed by SIG" + exit_signal_;
    } else if (ended) {
      how = st >= 0 ? fmt::format("agent exited with status {}", st) : "agent ended";
    } else {
      how = std::string("ssh channel failed: ") + libssh().ssh_get_error(conn_->session());
    }
    std::string last = tail_.last_line();
    std::string msg = fmt::format("{}: {}", label_, how);
    if (!last.empty()) msg += ": " + last;
    std::string hint = "rerun with -v to see the agent's log";
    if (last.find("password is required") != std::string::npos)
      hint =
          "sudo on the target wants a password: allow NOPASSWD for /bin/sh (root copies, hashes "
          "and runs its own copy of the agent through it), or run without --sudo";
    return Error{errc::kAgent, msg, hint};
  }

 private:
  void drain_stderr() {
    char buf[4096];
    int n;
    while (ch_ && (n = libssh().ssh_channel_read_nonblocking(ch_, buf, sizeof buf, 1)) > 0)
      tail_.add(buf, static_cast<size_t>(n), true);
  }

  std::unique_ptr<SshConnection> conn_;
  ssh_channel ch_;
  std::string label_;
  StderrTail tail_;
  ssh_channel_callbacks_struct cb_{};
  std::string exit_signal_;
};

// An authenticated SSH connection with no agent on it: what port forwards
// need (sshd opens their direct-tcpip channels).
class SshLink : public Transport {
 public:
  explicit SshLink(std::unique_ptr<SshConnection> conn)
      : conn_(std::move(conn)), label_("ssh " + conn_->label()) {}
  Status write(std::string_view) override { return no_agent(); }
  Result<ReadResult> read(char*, size_t, int) override { return no_agent(); }
  void close() override { conn_.reset(); }
  std::string describe() const override { return label_; }
  Error explain_eof() override { return no_agent(); }
  SshConnection* ssh_connection() override { return conn_.get(); }

 private:
  static Error no_agent() {
    return Error{errc::kInternal, "this connection has no agent (opened for forwarding only)", {}};
  }
  std::unique_ptr<SshConnection> conn_;
  std::string label_;
};

Status upload_agent(SshConnection& conn, const DeployOptions& d, const std::string& hash) {
  auto data = read_file(d.agent_path, 256u << 20);
  if (!data) return data.error();
  std::string script = deploy_upload_script(remote_dir_word(d.remote_dir), hash);
  long t0 = monotonic_ms();
  spdlog::info("deploy: uploading agent ({}) to {}:{}/agent-{}", human_bytes(data->size()),
               conn.label(), d.remote_dir.empty() ? "~/.cache/sonde" : d.remote_dir,
               hash.substr(0, 12));
  auto r = conn.run(script, *data, 120000);
  if (!r) return r.error();
  std::string err = r->err;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  if (r->exit_status == kExitRefused) return refusal("deploy to " + conn.label(), r->err);
  if (r->exit_status == kExitHashMismatch)
    return Error{errc::kAgent, "deploy: " + err, "the upload was corrupted; retry"};
  if (r->exit_status != 0)
    return Error{
        errc::kAgent,
        fmt::format("deploy to {} failed (exit {}): {}", conn.label(), r->exit_status, err),
        "pick a writable, executable directory on the target with --remote-dir DIR"};
  spdlog::info("deploy: uploaded and verified in {} ms", monotonic_ms() - t0);
  return ok_status();
}

// A SHA-256 as the sidecar and `sonde-agent self-hash` print it: 64 lowercase
// hex digits first.
std::optional<std::string> leading_hash(const std::string& text) {
  if (text.size() < 64 || text.find_first_not_of("0123456789abcdef") < 64) return std::nullopt;
  return text.substr(0, 64);
}

// The agent's SHA-256. The build writes it beside the agent; hashing 2-3 MB
// costs ~20 ms a command, so the sidecar is used while it is not older than
// the binary. A wrong sidecar cannot slip through: the target re-hashes
// every upload before it is used.
Result<std::string> agent_hash(const std::string& path) {
  struct stat bin {
  }, side{};
  std::string sidecar = path + ".sha256";
  if (::stat(path.c_str(), &bin) == 0 && ::stat(sidecar.c_str(), &side) == 0 &&
      (side.st_mtim.tv_sec > bin.st_mtim.tv_sec || (side.st_mtim.tv_sec == bin.st_mtim.tv_sec &&
                                                    side.st_mtim.tv_nsec >= bin.st_mtim.tv_nsec))) {
    auto text = read_file(sidecar, 256);
    if (text.ok())
      if (auto h = leading_hash(*text)) return *h;
  }
  // No sidecar, or an old one: the agent hashes itself (libcrypto is linked
  // into it), so the controller does not load libcrypto for this.
  auto r = run_capture({path, "self-hash"}, 30000);
  if (!r) return r.error();
  auto h = r->exit_code == 0 ? leading_hash(r->out) : std::nullopt;
  if (!h)
    return Error{errc::kInternal, fmt::format("{} self-hash failed (exit {})", path, r->exit_code),
                 "rebuild sonde-agent (scripts/build.sh)"};
  return *h;
}

}  // namespace

Result<std::unique_ptr<Transport>> open_ssh_link(const SshTarget& target, const SshOptions& ssh) {
  auto conn = SshConnection::open(target, ssh);
  if (!conn) return conn.error();
  return std::unique_ptr<Transport>(new SshLink(std::move(*conn)));
}

Result<std::unique_ptr<Transport>> open_ssh(const SshTarget& target, const SshOptions& ssh,
                                            const DeployOptions& deploy) {
  if (::access(deploy.agent_path.c_str(), R_OK) != 0)
    return Error{errc::kAgent, "no agent to deploy at " + deploy.agent_path,
                 "build it (./scripts/build.sh) or pass --agent PATH"};
  auto hash = agent_hash(deploy.agent_path);
  if (!hash) return hash.error();
  auto conn = SshConnection::open(target, ssh);
  if (!conn) return conn.error();

  const std::string start = deploy_start_script(remote_dir_word(deploy.remote_dir), *hash,
                                                deploy.sudo, deploy.verbosity >= 2);
  const std::string label = "ssh " + (*conn)->label();

  for (int attempt = 0; attempt < 2; ++attempt) {
    auto ch = (*conn)->open_exec(start);
    if (!ch) return ch.error();
    // The common case costs no extra round trip: the start command itself
    // says (an exit code, no output) when this build of the agent is not
    // there, was damaged, or sits where another user could have put it.
    int avail = libssh().ssh_channel_poll_timeout(*ch, 30000, 0);
    int st = avail == SSH_EOF ? libssh().ssh_channel_get_exit_status(*ch) : -1;
    if (st == kExitAgentMissing || st == kExitAgentStale || st == kExitRefused) {
      std::string err = read_stderr(*ch);
      libssh().ssh_channel_close(*ch);
      libssh().ssh_channel_free(*ch);
      if (st == kExitRefused) return refusal(label, err);
      if (attempt > 0) break;
      if (st == kExitAgentStale)
        spdlog::warn("deploy: the cached agent on {} did not match its hash; replacing it",
                     (*conn)->label());
      if (auto up = upload_agent(**conn, deploy, *hash); !up.ok()) return up.error();
      continue;
    }
    spdlog::debug("agent started on {}", label);
    return std::unique_ptr<Transport>(new SshTransport(std::move(*conn), *ch, label));
  }
  return Error{errc::kAgent, "agent still missing after upload", "check --remote-dir"};
}

}  // namespace sonde::controller
