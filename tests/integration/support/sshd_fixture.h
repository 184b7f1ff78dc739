// Test support for integration tests: a real OpenSSH sshd on 127.0.0.1
// (tests/fixtures/sshd.sh) and a runner for the sonde binary and other
// programs that captures stdout and stderr separately, with a hard timeout.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sonde::testing {

// One sshd started by tests/fixtures/sshd.sh in a fresh directory under /tmp.
// Clients use HOME=home() and the host alias alias(); the host key is trusted.
// The destructor stops sshd (and every session it spawned) and removes the
// directory.
class Sshd {
 public:
  // nullptr when sshd cannot run here: *why_not says why (the script exits 77
  // when OpenSSH is missing), so the caller can GTEST_SKIP() << *why_not.
  // Any other failure also returns nullptr but records a test failure first:
  // a broken fixture must not look like a skip. The caller owns the result.
  static Sshd* start(std::string* why_not = nullptr);
  ~Sshd();
  Sshd(const Sshd&) = delete;
  Sshd& operator=(const Sshd&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string home() const { return dir_ + "/home"; }
  std::string alias() const { return "sonde-test"; }
  std::string ssh_config() const { return home() + "/.ssh/config"; }
  std::string known_hosts() const { return home() + "/.ssh/known_hosts"; }
  // A key pair that is not in authorized_keys.
  std::string wrong_key() const { return dir_ + "/wrong_ed25519"; }

  // Rewrite known_hosts: empty (host unknown), naming another key for the same
  // [127.0.0.1]:port (host key changed), or the real key again.
  void untrust();
  void trust_other();
  void trust();

  // Idempotent; the destructor calls it.
  void stop();

 private:
  Sshd(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  void script(const char* verb);

  std::string dir_;
  int port_ = 0;
};

// Inside a gtest TEST body the bare name Run is hidden by ::testing::Test::Run():
// write sonde::testing::Run or auto there.
struct Run {
  int exit_code = -1;  // -1 when killed by a signal (see signal) or not started
  int signal = 0;      // the signal that killed it, else 0
  std::string out, err;
  bool timed_out = false;
};

// Runs argv (argv[0] searched in PATH) in its own process group with
// environment = ours minus SSH_AUTH_SOCK (no agent keys leak into a test) plus
// env. stdin_data is written to its stdin, which is then closed. At timeout_ms
// the whole process group gets SIGKILL and timed_out is set. Output that
// descendants keep writing after the child exits is read for a short grace
// period only; then the process group gets SIGKILL, so a leftover background
// process can neither hang the test nor outlive it. (Daemons that setsid, like
// sshd, are not in the group.)
Run run_cmd(const std::vector<std::string>& argv,
            const std::map<std::string, std::string>& env = {}, int timeout_ms = 30000,
            const std::string& stdin_data = "");

// run_cmd on SONDE_BIN_DIR/sonde. Tests pass HOME = Sshd::home().
Run run_sonde(const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env = {}, int timeout_ms = 30000,
              const std::string& stdin_data = "");

// "exit 3", "signal 9 (timed out)" and the captured stderr: for failure messages.
std::string describe(const Run& r);

bool is_root();
// name is looked up in PATH, then /usr/sbin and /sbin (sshd lives there and a
// non-root PATH may lack them); a name with '/' is checked as given.
bool have_program(const char* name);

}  // namespace sonde::testing
