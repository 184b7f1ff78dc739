// Runs a program (or the built sonde) to completion with stdout and stderr
// captured separately and a hard timeout, and small checks of this host.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sonde::testing {

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

// s without its trailing newlines and spaces.
std::string trim_end(std::string s);

}  // namespace sonde::testing
