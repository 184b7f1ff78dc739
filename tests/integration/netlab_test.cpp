// The NetLab fixture itself: hosts on one switch reach each other, nftables
// rules apply in the host that has them, /etc/netns files reach programs
// started there, and nothing is left behind.
#include <gtest/gtest.h>

#include "support/netlab.h"

#include <sys/stat.h>

namespace sonde::testing {
namespace {

#define NEED_LAB(lab)                               \
  std::string why_not;                              \
  auto lab = NetLab::create(&why_not);              \
  if (!lab) {                                       \
    if (why_not.empty()) FAIL() << "lab not built"; \
    GTEST_SKIP() << why_not;                        \
  }

const char* kConnect =
    "import socket,sys\n"
    "s=socket.socket(); s.settimeout(2)\n"
    "try:\n"
    "  s.connect((sys.argv[1], int(sys.argv[2]))); print('open')\n"
    "except ConnectionRefusedError: print('refused')\n"
    "except (socket.timeout, TimeoutError): print('timeout')\n";

TEST(NetLab, HostsReachEachOtherAndRulesApply) {
  NEED_LAB(lab);
  auto a = lab->add_host("a");
  auto b = lab->add_host("b");
  ASSERT_FALSE(a.ns.empty());
  ASSERT_FALSE(b.ns.empty());
  EXPECT_EQ(a.addr, "198.18.0.2");
  EXPECT_EQ(b.addr, "198.18.0.3");
  pid_t srv = lab->spawn(b, {"python3", "-c",
                             "import socket\n"
                             "s=socket.socket(); s.bind(('0.0.0.0',7001)); s.listen()\n"
                             "while True: s.accept()[0].close()\n"});
  ASSERT_GT(srv, 0);
  ASSERT_TRUE(lab->wait_listen(b, 7001));
  ASSERT_TRUE(lab->nft(b,
                       "table inet t {\n"
                       "  chain in { type filter hook input priority 0; tcp dport 7002 drop; }\n"
                       "}\n"));
  auto r = lab->exec(a, {"python3", "-c", kConnect, b.addr, "7001"});
  EXPECT_EQ(r.out, "open\n") << describe(r);
  r = lab->exec(a, {"python3", "-c", kConnect, b.addr, "7003"});
  EXPECT_EQ(r.out, "refused\n") << describe(r);
  r = lab->exec(a, {"python3", "-c", kConnect, b.addr, "7002"});
  EXPECT_EQ(r.out, "timeout\n") << describe(r);
  // The test's own namespace never sees the lab's addresses.
  auto here = run_cmd({"ip", "-o", "addr"});
  EXPECT_EQ(here.out.find("198.18.0.2/24"), std::string::npos) << here.out;
}

TEST(NetLab, EtcFilesAndCleanup) {
  std::string ns;
  {
    NEED_LAB(lab);
    auto a = lab->add_host("a");
    ASSERT_TRUE(lab->etc_file(a, "hosts", "198.18.0.9 lab-name.example\n"));
    auto r = lab->exec(a, {"getent", "hosts", "lab-name.example"});
    EXPECT_NE(r.out.find("198.18.0.9"), std::string::npos) << describe(r);
    ns = a.ns;
  }
  auto r = run_cmd({"ip", "netns", "list"});
  EXPECT_EQ(r.out.find(ns), std::string::npos) << r.out;
  struct stat st;
  EXPECT_NE(::stat(("/etc/netns/" + ns).c_str(), &st), 0);
}

}  // namespace
}  // namespace sonde::testing
