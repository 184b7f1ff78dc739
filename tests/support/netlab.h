// Test hosts built from network namespaces: each NetLab has its own "switch"
// namespace holding a bridge, and every host is a namespace joined to that
// bridge by a veth pair, addressed from 198.18.0.0/24 (198.18.0.0/15 is set
// aside for network tests). Nothing is added to the test's own namespace, so
// labs of tests running in parallel cannot see each other and may all use the
// same addresses. The destructor kills what the lab started and removes the
// namespaces and their /etc/netns files.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sshd_fixture.h"

namespace sonde::testing {

class NetLab {
 public:
  struct Host {
    std::string name;  // as given to add_host
    std::string ns;    // the namespace's name (unique per lab)
    std::string addr;  // its address on the lab's switch, e.g. "198.18.0.2"
  };

  // nullptr when the lab cannot be built here (not root, no `ip netns`, no
  // nft): *why_not says why, for GTEST_SKIP(). Any other failure records a
  // test failure and also returns nullptr.
  static std::unique_ptr<NetLab> create(std::string* why_not);
  ~NetLab();
  NetLab(const NetLab&) = delete;
  NetLab& operator=(const NetLab&) = delete;

  // A new host with lo up and eth0 on the switch at 198.18.0.<n>/24, n = 2, 3, ...
  // in order of creation, and its own /etc/hosts (localhost and its name). Records a test failure
  // and returns a Host with an empty ns when it could not be made.
  Host add_host(const std::string& name);

  // argv run inside the host (`ip netns exec NS argv...`), with run_cmd's
  // capture, environment and timeout.
  Run exec(const Host& h, const std::vector<std::string>& argv,
           const std::map<std::string, std::string>& env = {}, int timeout_ms = 30000,
           const std::string& stdin_data = "");

  // The sonde binary run inside the host, as run_sonde does.
  Run sonde(const Host& h, const std::vector<std::string>& args,
            const std::map<std::string, std::string>& env = {}, int timeout_ms = 30000);

  // A --via command that runs the built agent inside the host:
  // "ip netns exec NS SONDE_BIN_DIR/sonde-agent serve".
  std::string via_agent(const Host& h) const;

  // Starts argv in the background inside the host, in its own process group,
  // stdout+stderr to log_path ("" = /dev/null). The lab kills the group on
  // destruction; kill() does it earlier. Returns the pid, or -1 (and records a
  // failure).
  pid_t spawn(const Host& h, const std::vector<std::string>& argv,
              const std::string& log_path = "");
  void kill(pid_t pid);

  // `nft -f -` with this ruleset text inside the host. False (and a recorded
  // failure naming nft's stderr) when nft rejects it.
  bool nft(const Host& h, const std::string& ruleset);

  // Writes /etc/netns/NS/<file> (e.g. "hosts", "resolv.conf"), which
  // `ip netns exec` bind-mounts over /etc/<file> for every program it starts in
  // the host. Must be called before those programs start.
  bool etc_file(const Host& h, const std::string& file, const std::string& content);

  // True once a TCP (or, with udp, UDP) socket is bound to port inside the
  // host, false after timeout_ms. 20 s by default: on a loaded CI machine a
  // lab's python servers took past 5 s to listen.
  bool wait_listen(const Host& h, int port, int timeout_ms = 20000, bool udp = false);

  // A scratch directory owned by the lab (removed on destruction).
  const std::string& dir() const { return dir_; }

 private:
  NetLab() = default;
  bool sh(const std::vector<std::string>& argv, std::string* err = nullptr);

  std::string prefix_;  // namespace name prefix, unique per lab
  std::string sw_;      // the switch namespace
  std::string dir_;
  std::vector<Host> hosts_;
  std::vector<pid_t> pids_;
};

}  // namespace sonde::testing
