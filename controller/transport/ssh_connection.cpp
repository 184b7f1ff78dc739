#include "ssh_connection.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "../session.h"
#include "handshake_gate.h"
#include "sonde/common/io.h"
#include "sonde/common/log.h"
#include "sonde/common/subprocess.h"

namespace sonde::controller {
namespace {

// sonde, like the engineer's shell, takes ~ from $HOME; libssh on its own
// would use the passwd entry.
std::string home_dir() {
  const char* h = std::getenv("HOME");
  return (h && *h) ? h : "/root";
}

bool contains(const std::string& s, const char* needle) {
  return s.find(needle) != std::string::npos;
}

std::string known_hosts_name(const std::string& host, int port) {
  return port == 22 ? host : "[" + host + "]:" + std::to_string(port);
}

}  // namespace

void SshConnection::release_gate() {
  if (gate_) gate_->release(gate_key_);
  gate_ = nullptr;
}

SshConnection::~SshConnection() {
  release_gate();
  if (session_) {
    if (libssh().ssh_is_connected(session_)) libssh().ssh_disconnect(session_);
    libssh().ssh_free(session_);
  }
}

Error SshConnection::ssh_error(const std::string& what) {
  return Error{errc::kConnect, fmt::format("{}: {}", what, libssh().ssh_get_error(session_)), {}};
}

Result<std::unique_ptr<SshConnection>> SshConnection::open(const SshTarget& target,
                                                           const SshOptions& opts) {
  if (auto lib = load_libssh(); !lib) return lib.error();
  std::unique_ptr<SshConnection> c(new SshConnection());
  // The handshake slot connect() takes goes back once this is authenticated
  // or has failed, whichever comes first.
  struct GiveBack {
    SshConnection* c;
    ~GiveBack() { c->release_gate(); }
  } give_back{c.get()};
  if (auto st = c->connect(target, opts); !st.ok()) return st.error();
  if (auto st = c->verify_host_key(opts); !st.ok()) return st.error();
  if (auto st = c->authenticate(opts); !st.ok()) return st.error();
  spdlog::info("ssh: authenticated to {}", c->label_);
  return c;
}

Status SshConnection::connect(const SshTarget& target, const SshOptions& opts) {
  session_ = libssh().ssh_new();
  if (!session_) return Error{errc::kInternal, "ssh_new failed", {}};
  std::string sshdir = home_dir() + "/.ssh";
  libssh().ssh_options_set(session_, SSH_OPTIONS_SSH_DIR, sshdir.c_str());
  libssh().ssh_options_set(session_, SSH_OPTIONS_HOST, target.host.c_str());
  if (opts.verbosity >= 3) {
    int lvl = SSH_LOG_PROTOCOL;
    libssh().ssh_options_set(session_, SSH_OPTIONS_LOG_VERBOSITY, &lvl);
  }
  // Host aliases, HostName, User, Port, IdentityFile, UserKnownHostsFile and
  // ProxyJump (libssh turns it into a ProxyCommand) come from the config.
  std::string cfg = opts.config_file.empty() ? sshdir + "/config" : opts.config_file;
  if (::access(cfg.c_str(), R_OK) == 0) {
    if (libssh().ssh_options_parse_config(session_, cfg.c_str()) < 0)
      return Error{errc::kBadArgs,
                   "cannot parse ssh config " + cfg + ": " + libssh().ssh_get_error(session_),
                   "fix the file or point -F at another"};
  } else if (!opts.config_file.empty()) {
    return Error{errc::kBadArgs, "cannot read ssh config " + cfg, {}};
  }
  if (opts.config_file.empty() && ::access("/etc/ssh/ssh_config", R_OK) == 0)
    libssh().ssh_options_parse_config(session_, "/etc/ssh/ssh_config");
  // What the engineer typed wins over the config.
  if (!target.user.empty())
    libssh().ssh_options_set(session_, SSH_OPTIONS_USER, target.user.c_str());
  if (target.port > 0) {
    unsigned int p = static_cast<unsigned int>(target.port);
    libssh().ssh_options_set(session_, SSH_OPTIONS_PORT, &p);
  }
  long sec = opts.connect_timeout_ms / 1000, usec = (opts.connect_timeout_ms % 1000) * 1000;
  libssh().ssh_options_set(session_, SSH_OPTIONS_TIMEOUT, &sec);
  libssh().ssh_options_set(session_, SSH_OPTIONS_TIMEOUT_USEC, &usec);

  char* h = nullptr;
  char* u = nullptr;
  unsigned int port = 22;
  libssh().ssh_options_get(session_, SSH_OPTIONS_HOST, &h);
  libssh().ssh_options_get(session_, SSH_OPTIONS_USER, &u);
  libssh().ssh_options_get_port(session_, &port);
  host_ = h ? h : target.host;
  user_ = u ? u : "";
  port_ = static_cast<int>(port);
  libssh().ssh_string_free_char(h);
  libssh().ssh_string_free_char(u);
  label_ = fmt::format("{}@{}:{}", user_, host_, port_);

  if (opts.gate) {
    // A jump host (ProxyJump/ProxyCommand, as the config resolved it) has a
    // cap of its own: its sshd sees every handshake made through it.
    char* proxy = nullptr;
    if (libssh().ssh_options_get(session_, SSH_OPTIONS_PROXYCOMMAND, &proxy) == SSH_OK && proxy) {
      gate_key_ = proxy;
      libssh().ssh_string_free_char(proxy);
    }
    if (!opts.gate->acquire(gate_key_, [] { return interrupted(); }))
      return Error{errc::kCancelled, "interrupted while waiting to connect to " + label_, {}};
    gate_ = opts.gate;
  }
  long t0 = monotonic_ms();
  if (libssh().ssh_connect(session_) != SSH_OK) {
    std::string e = libssh().ssh_get_error(session_);
    long took = monotonic_ms() - t0;
    std::string where = fmt::format("{}:{}", host_, port_);
    if (contains(e, "refused"))
      return Error{errc::kConnect, fmt::format("ssh {}: connection refused", where),
                   "nothing listens there: is sshd running, and is the port right "
                   "(host:port or Port in ~/.ssh/config)?"};
    if (contains(e, "imeout") || contains(e, "timed out"))
      return Error{errc::kConnect,
                   fmt::format("ssh {}: no answer within {} ms (connect timed out)", where, took),
                   "the host is down or a firewall drops the packets; check the address and "
                   "route, or raise --connect-timeout"};
    if (contains(e, "resolve") || contains(e, "not known") || contains(e, "getaddrinfo"))
      return Error{errc::kConnect, fmt::format("ssh: cannot resolve host `{}`", host_),
                   "check the name, or add a Host entry with HostName to ~/.ssh/config"};
    if (contains(e, "No route") || contains(e, "unreachable"))
      return Error{errc::kConnect, fmt::format("ssh {}: {}", where, e),
                   "no route to the host: check the address and this machine's network"};
    return Error{errc::kConnect, fmt::format("ssh {}: {}", where, e),
                 "rerun with -vvv to see the SSH exchange"};
  }
  return ok_status();
}

Status SshConnection::verify_host_key(const SshOptions& opts) {
  ssh_key key = nullptr;
  if (libssh().ssh_get_server_publickey(session_, &key) != SSH_OK)
    return ssh_error("server public key");
  unsigned char* hash = nullptr;
  size_t hlen = 0;
  std::string fp = "?";
  if (libssh().ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
    char* f = libssh().ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
    if (f) fp = f;
    libssh().ssh_string_free_char(f);
    libssh().ssh_clean_pubkey_hash(&hash);
  }
  std::string type = libssh().ssh_key_type_to_char(libssh().ssh_key_type(key));
  libssh().ssh_key_free(key);
  char* kh = nullptr;
  libssh().ssh_options_get(session_, SSH_OPTIONS_KNOWNHOSTS, &kh);
  std::string khfile = kh ? kh : home_dir() + "/.ssh/known_hosts";
  libssh().ssh_string_free_char(kh);
  std::string name = known_hosts_name(host_, port_);

  switch (libssh().ssh_session_is_known_server(session_)) {
    case SSH_KNOWN_HOSTS_OK:
      return ok_status();
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
      return Error{
          errc::kHostKey,
          fmt::format("@@@ HOST KEY FOR {} HAS CHANGED @@@\n"
                      "  {} lists a different key for this host; the host now offers\n"
                      "  {} {}.\n"
                      "  Someone may be intercepting the connection (man-in-the-middle), or the\n"
                      "  host was reinstalled. sonde refuses to connect.",
                      name, khfile, type, fp),
          fmt::format("if the change is expected, verify the new fingerprint out of band, then "
                      "remove the old key: ssh-keygen -R '{}' -f {}",
                      name, khfile)};
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      if (opts.accept_new) {
        if (libssh().ssh_session_update_known_hosts(session_) != SSH_OK)
          return Error{
              errc::kHostKey,
              "cannot record host key in " + khfile + ": " + libssh().ssh_get_error(session_),
              "check that the directory exists and is writable"};
        spdlog::warn("recorded new host key for {} ({} {}) in {}", name, type, fp, khfile);
        return ok_status();
      }
      return Error{
          errc::kHostKey,
          fmt::format("unknown host {}: its {} key fingerprint is {} and {} does not list it", name,
                      type, fp, khfile),
          "if the fingerprint is right, rerun with --accept-new to record it "
          "(like StrictHostKeyChecking=accept-new)"};
    case SSH_KNOWN_HOSTS_ERROR:
    default:
      return Error{errc::kHostKey,
                   "cannot check host key: " + std::string(libssh().ssh_get_error(session_)),
                   "check " + khfile};
  }
}

Status SshConnection::authenticate(const SshOptions& opts) {
  // "none" first: servers answer it with the methods they accept.
  int rc = libssh().ssh_userauth_none(session_, nullptr);
  if (rc == SSH_AUTH_SUCCESS) return ok_status();
  if (rc == SSH_AUTH_ERROR) return ssh_error("ssh authentication");
  int methods = libssh().ssh_userauth_list(session_, nullptr);
  std::vector<std::string> tried;
  bool have_agent = std::getenv("SSH_AUTH_SOCK") != nullptr;

  if (!opts.identity_file.empty()) {
    // Like OpenSSH's -i: this key (and ssh-agent), not the default key files.
    if (have_agent) {
      tried.push_back("ssh-agent");
      if (libssh().ssh_userauth_agent(session_, nullptr) == SSH_AUTH_SUCCESS) return ok_status();
    }
    ssh_key key = nullptr;
    if (libssh().ssh_pki_import_privkey_file(opts.identity_file.c_str(), nullptr, nullptr, nullptr,
                                             &key) != SSH_OK)
      return Error{errc::kAuth, "cannot load private key " + opts.identity_file,
                   "check the path and permissions (passphrase-protected keys need ssh-agent)"};
    tried.push_back("key " + opts.identity_file);
    rc = libssh().ssh_userauth_publickey(session_, nullptr, key);
    libssh().ssh_key_free(key);
    if (rc == SSH_AUTH_SUCCESS) return ok_status();
  } else if (methods & SSH_AUTH_METHOD_PUBLICKEY) {
    tried.push_back(have_agent ? "ssh-agent" : "ssh-agent (SSH_AUTH_SOCK not set)");
    char* id = nullptr;
    libssh().ssh_options_get(session_, SSH_OPTIONS_IDENTITY, &id);
    tried.push_back(std::string("key files (") + (id ? id : "~/.ssh/id_*") + ", defaults)");
    libssh().ssh_string_free_char(id);
    rc = libssh().ssh_userauth_publickey_auto(session_, nullptr, nullptr);
    if (rc == SSH_AUTH_SUCCESS) return ok_status();
  }
  if (rc == SSH_AUTH_ERROR) return ssh_error("ssh authentication");
  std::vector<std::string> accepts;
  if (methods & SSH_AUTH_METHOD_PUBLICKEY) accepts.push_back("publickey");
  if (methods & SSH_AUTH_METHOD_PASSWORD) accepts.push_back("password");
  if (methods & SSH_AUTH_METHOD_INTERACTIVE) accepts.push_back("keyboard-interactive");
  if (methods & SSH_AUTH_METHOD_GSSAPI_MIC) accepts.push_back("gssapi-with-mic");
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? std::string("none") : s;
  };
  return Error{errc::kAuth,
               fmt::format("ssh authentication failed for {}: tried {}; the server accepts {}",
                           label_, join(tried), join(accepts)),
               "check that the public key is in the target's ~/.ssh/authorized_keys for this user, "
               "pass the right key with -i FILE, or load it into ssh-agent (password login is not "
               "supported)"};
}

Result<ssh_channel> SshConnection::open_exec(const std::string& command) {
  ssh_channel ch = libssh().ssh_channel_new(session_);
  if (!ch) return ssh_error("ssh channel");
  if (libssh().ssh_channel_open_session(ch) != SSH_OK) {
    libssh().ssh_channel_free(ch);
    return ssh_error("ssh open session channel");
  }
  if (libssh().ssh_channel_request_exec(ch, command.c_str()) != SSH_OK) {
    libssh().ssh_channel_close(ch);
    libssh().ssh_channel_free(ch);
    return ssh_error("ssh exec");
  }
  return ch;
}

Result<ExecResult> SshConnection::run(const std::string& command, std::string_view stdin_data,
                                      int timeout_ms) {
  auto ch = open_exec(command);
  if (!ch) return ch.error();
  ExecResult r;
  long deadline = monotonic_ms() + timeout_ms;
  size_t off = 0;
  char buf[8192];
  // Write only into the peer's window: if the command stops reading (mkdir
  // failed, disk full) a blocking write would sit out the session timeout.
  while (off < stdin_data.size() && monotonic_ms() < deadline) {
    if (libssh().ssh_channel_is_eof(*ch) || libssh().ssh_channel_is_closed(*ch)) break;
    uint32_t window = libssh().ssh_channel_window_size(*ch);
    if (window == 0) {
      int n = libssh().ssh_channel_read_timeout(*ch, buf, sizeof buf, 0, 20);
      if (n > 0) r.out.append(buf, static_cast<size_t>(n));
      int e = libssh().ssh_channel_read_nonblocking(*ch, buf, sizeof buf, 1);
      if (e > 0) r.err.append(buf, static_cast<size_t>(e));
      if (n == SSH_ERROR || e == SSH_ERROR) break;
      continue;
    }
    uint32_t chunk = static_cast<uint32_t>(
        std::min<size_t>({stdin_data.size() - off, size_t{1} << 16, size_t{window}}));
    int n = libssh().ssh_channel_write(*ch, stdin_data.data() + off, chunk);
    if (n < 0) break;  // the command stopped reading; its exit status says why
    off += static_cast<size_t>(n);
  }
  libssh().ssh_channel_send_eof(*ch);
  while (!libssh().ssh_channel_is_eof(*ch) && monotonic_ms() < deadline) {
    int n = libssh().ssh_channel_read_timeout(*ch, buf, sizeof buf, 0, 100);
    if (n > 0) r.out.append(buf, static_cast<size_t>(n));
    int e = libssh().ssh_channel_read_nonblocking(*ch, buf, sizeof buf, 1);
    if (e > 0) r.err.append(buf, static_cast<size_t>(e));
    if (n < 0 || e == SSH_ERROR) break;
  }
  int e;
  while ((e = libssh().ssh_channel_read_nonblocking(*ch, buf, sizeof buf, 1)) > 0)
    r.err.append(buf, static_cast<size_t>(e));
  bool timed_out = !libssh().ssh_channel_is_eof(*ch);
  r.exit_status = timed_out ? -1 : libssh().ssh_channel_get_exit_status(*ch);
  libssh().ssh_channel_close(*ch);
  libssh().ssh_channel_free(*ch);
  if (timed_out)
    return Error{
        errc::kTimeout, fmt::format("remote command did not finish within {} ms", timeout_ms), {}};
  return r;
}

}  // namespace sonde::controller
