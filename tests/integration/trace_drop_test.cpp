// A slow link never stalls the target: when the controller cannot keep up
// (here its stdout is not read at all), the agent drops events and counts
// them, and the traced program runs to the end meanwhile.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "agent_client.h"
#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"

namespace sonde::testing {
namespace {

TEST(TraceDrop, SlowControllerLosesEventsNotTheTarget) {
  char tmpl[] = "/tmp/sonde-drop-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string done_file = std::string(tmpl) + "/done";
  std::string loop = std::string(SONDE_TARGETS_DIR) + "/syscall_loop";
  SpawnOptions o;
  o.pipe_stdin = false;
  o.pipe_stderr = true;
  auto c = spawn({std::string(SONDE_BIN_DIR) + "/sonde", "trace", "local", "-f", "--", "sh", "-c",
                  loop + " getppid 100000 > " + done_file},
                 o);
  ASSERT_TRUE(c.ok());
  // Do not read sonde's stdout: its pipe fills, sonde blocks, the agent's
  // queue fills. The traced loop must still finish.
  bool finished = false;
  for (int i = 0; i < 600 && !finished; ++i) {
    auto s = read_file(done_file);
    finished = s.ok() && s->rfind("DONE 100000", 0) == 0;
    if (!finished) ::usleep(50 * 1000);
  }
  EXPECT_TRUE(finished) << "the traced program did not finish while the controller was stalled";
  // Now drain everything and let sonde end.
  std::string out, err;
  char buf[65536];
  for (int i = 0; i < 4000; ++i) {
    pollfd p[2] = {{c->out().get(), POLLIN, 0}, {c->err().get(), POLLIN, 0}};
    if (::poll(p, 2, 50) <= 0) {
      if (c->wait(0)) break;
      continue;
    }
    bool any = false;
    for (int k = 0; k < 2; ++k) {
      if (!(p[k].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = ::read(p[k].fd, buf, sizeof buf);
      if (n > 0) {
        (k == 0 ? out : err).append(buf, static_cast<size_t>(n));
        any = true;
      }
    }
    if (!any && c->wait(0)) break;
  }
  auto st = c->wait(10000);
  ASSERT_TRUE(st) << "sonde did not exit";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << err;
  EXPECT_NE(err.find("events lost"), std::string::npos) << err.substr(0, 2000);
  // What did arrive is well-formed strace lines.
  std::istringstream lines(out);
  std::string line;
  int getppid_lines = 0;
  while (std::getline(lines, line))
    if (line.find("getppid()") != std::string::npos) ++getppid_lines;
  EXPECT_GT(getppid_lines, 0);
  EXPECT_LT(getppid_lines, 100000);
  (void)run_capture({"rm", "-rf", tmpl});
}

}  // namespace
}  // namespace sonde::testing
