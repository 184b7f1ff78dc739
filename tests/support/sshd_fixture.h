// A real OpenSSH sshd on 127.0.0.1 (tests/fixtures/sshd.sh) for the tests
// that reach this host over SSH.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "run.h"

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
  // a broken fixture must not look like a skip.
  static std::unique_ptr<Sshd> start(std::string* why_not = nullptr);
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

// A gtest fixture base for a suite whose tests share one sshd: started before
// the suite's first test, stopped after its last. SetUp() skips a test, with
// the reason, when sshd cannot run here. A suite with set-up of its own calls
// SshdSuite::SetUpTestSuite() / TearDownTestSuite() from its own, and
// SshdSuite::SetUp() (then returns if IsSkipped()) unless some of its tests
// run without sshd: those check sshd_ themselves.
class SshdSuite : public ::testing::Test {
 public:
  static void SetUpTestSuite() { sshd_ = Sshd::start(&why_); }
  static void TearDownTestSuite() { sshd_.reset(); }

 protected:
  void SetUp() override {
    if (!sshd_) GTEST_SKIP() << why_;
  }
  // What sonde needs to reach it: its HOME, with the ssh config and known_hosts.
  static std::map<std::string, std::string> sshd_env() { return {{"HOME", sshd_->home()}}; }

  static inline std::unique_ptr<Sshd> sshd_;
  static inline std::string why_;  // why sshd_ is null
};

}  // namespace sonde::testing
