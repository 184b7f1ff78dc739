// openssl s_server on 127.0.0.1 for the TLS probe's tests: a real TLS server
// with the test's own certificates.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "sonde/common/subprocess.h"

namespace sonde::testing {

class SServer {
 public:
  // `openssl s_server -accept 127.0.0.1:0 -cert CERT -key KEY EXTRA...`: the
  // kernel picks the port, read from its "ACCEPT 127.0.0.1:PORT" line (up to
  // 10 s); port() is 0 when it did not come. Its stdin stays open (s_server
  // quits at EOF), its stdout and stderr are drained (it logs every
  // connection; connection errors are expected noise).
  SServer(const std::string& cert, const std::string& key,
          const std::vector<std::string>& extra = {});
  // SIGTERM, then SIGKILL after 3 s.
  ~SServer();
  SServer(const SServer&) = delete;
  SServer& operator=(const SServer&) = delete;

  int port() const { return port_; }
  std::string at() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  Child child_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread drain_;
};

}  // namespace sonde::testing
