// `sonde hello`'s text from a typed Capabilities: what the agent may do, and
// "-" for what it could not tell.
#include <gtest/gtest.h>

#include "sonde/render/hello.h"
#include "support/contains.h"

namespace sonde::render {
namespace {

using sonde::testing::contains;

TEST(HelloRender, EveryLine) {
  Capabilities c;
  HelloFacts& h = c.facts;
  h.agent_version = "0.1.0";
  h.protocol = 1;
  h.kernel = "Linux 6.1.0";
  h.arch = "x86_64";
  h.hostname = "db1";
  h.pid = 99;
  h.uid = 1000;
  h.euid = 0;
  h.ptrace = {true, 1, false, "Yama ptrace_scope=1: only descendants"};
  h.perf_event.paranoid = 4;
  h.perf_event.allowed = false;
  h.perf_event.why = "denied\x1b[2J";
  h.cap_net_raw = true;
  c.jdk_tools.java = "/usr/bin/java";
  c.gdbserver = "/usr/bin/gdbserver";
  EXPECT_EQ(render_hello(c, "ssh db1"),
            "host        db1 (Linux 6.1.0, x86_64)\n"
            "transport   ssh db1\n"
            "agent       0.1.0, protocol 1, pid 99\n"
            "user        uid 1000 euid 0 gid 0 egid 0\n"
            "ptrace      yes (Yama ptrace_scope 1; Yama ptrace_scope=1: only descendants)\n"
            "perf_event  no (perf_event_paranoid 4; denied?[2J)\n"
            "capture     yes (CAP_NET_RAW)\n"
            "jdk tools   java /usr/bin/java, jcmd -, jfr -\n"
            "gdbserver   /usr/bin/gdbserver\n");
}

TEST(HelloRender, UnknownsShowAsDashes) {
  Capabilities c;
  c.facts.agent_version = "0.1.0";
  c.facts.protocol = 1;
  c.facts.perf_event.allowed = true;
  std::string t = render_hello(c, "local");
  EXPECT_TRUE(contains(t, "host        - (-, -)\n")) << t;
  EXPECT_TRUE(contains(t, "ptrace      no (no Yama LSM; -)\n")) << t;
  EXPECT_TRUE(contains(t, "perf_event  yes (perf_event_paranoid -)\n")) << t;
  EXPECT_TRUE(contains(t, "gdbserver   -\n")) << t;
}

TEST(HelloRender, ClockLineAndAWarningPast100Ms) {
  Capabilities c;
  c.facts.agent_version = "0.1.0";
  c.facts.protocol = 1;
  std::string near = render_hello(c, "local", ClockOffset{1'234'567, 41'000, 8});
  EXPECT_TRUE(contains(near,
                       "clock       +1.235 ms +/- 0.041 ms against this machine (best of 8 "
                       "pings)\n"))
      << near;
  EXPECT_FALSE(contains(near, "warning")) << near;
  std::string far = render_hello(c, "local", ClockOffset{-250'000'000, 50'000, 8});
  EXPECT_TRUE(contains(far, "clock       -250.000 ms +/- 0.050 ms")) << far;
  EXPECT_TRUE(contains(far, "warning     this host's clock is 250 ms off")) << far;
  EXPECT_FALSE(contains(render_hello(c, "local"), "clock")) << "no line when not measured";
}

}  // namespace
}  // namespace sonde::render
