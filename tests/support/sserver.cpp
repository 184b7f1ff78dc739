#include "sserver.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

namespace sonde::testing {

SServer::SServer(const std::string& cert, const std::string& key,
                 const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"openssl", "s_server", "-accept", "127.0.0.1:0",
                                   "-cert",   cert,       "-key",    key};
  argv.insert(argv.end(), extra.begin(), extra.end());
  SpawnOptions o;
  o.pipe_stdin = true;
  o.new_process_group = true;
  o.pipe_stderr = true;
  auto c = spawn(argv, o);
  if (!c.ok()) return;
  child_ = std::move(*c);
  std::string buf;
  for (int i = 0; i < 100 && port_ == 0; ++i) {
    pollfd p{child_.out().get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char tmp[256];
    ssize_t n = ::read(child_.out().get(), tmp, sizeof tmp);
    if (n <= 0) break;
    buf.append(tmp, static_cast<size_t>(n));
    auto a = buf.find("ACCEPT 127.0.0.1:");
    if (a != std::string::npos && buf.find('\n', a) != std::string::npos)
      port_ = std::atoi(buf.c_str() + a + 17);
  }
  drain_ = std::thread([out = child_.out().get(), err = child_.err().get(), this] {
    char tmp[4096];
    pollfd p[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
    while (!stop_ && (p[0].fd >= 0 || p[1].fd >= 0)) {
      if (::poll(p, 2, 100) <= 0) continue;
      for (auto& q : p)
        if (q.revents && ::read(q.fd, tmp, sizeof tmp) <= 0) q.fd = -1;  // poll skips fd -1
    }
  });
}

SServer::~SServer() {
  stop_ = true;
  if (!child_.exited()) {
    child_.kill(SIGTERM);
    if (!child_.wait(3000)) {
      child_.kill(SIGKILL);
      (void)child_.wait(3000);
    }
  }
  if (drain_.joinable()) drain_.join();
}

}  // namespace sonde::testing
