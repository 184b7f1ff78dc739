// The SSH exclusion filter built from SSH_CONNECTION text (only addresses and
// ports reach the filter), and a short live capture on loopback.
#include <gtest/gtest.h>
#include <unistd.h>

#include "sonde/net/capture.h"

using namespace sonde;
using namespace sonde::net;

TEST(CaptureSshExclusion, V4AndV6) {
  auto x = ssh_exclusion("10.0.0.1 51234 10.0.0.2 22");
  ASSERT_TRUE(x);
  EXPECT_EQ(x->client, "10.0.0.1:51234");
  EXPECT_EQ(x->server, "10.0.0.2:22");
  EXPECT_EQ(x->filter, "not (host 10.0.0.1 and port 51234 and host 10.0.0.2 and port 22)");

  auto v6 = ssh_exclusion("fe80::1 40000 ::ffff:192.0.2.7 2222");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->client, "[fe80::1]:40000");
  EXPECT_EQ(v6->server, "192.0.2.7:2222");  // a mapped v4 address is matched as v4
  EXPECT_EQ(v6->filter, "not (host fe80::1 and port 40000 and host 192.0.2.7 and port 2222)");
}

TEST(CaptureSshExclusion, RefusesAnythingElse) {
  EXPECT_FALSE(ssh_exclusion(""));
  EXPECT_FALSE(ssh_exclusion("10.0.0.1 51234 10.0.0.2"));
  EXPECT_FALSE(ssh_exclusion("10.0.0.1 51234 10.0.0.2 0"));
  EXPECT_FALSE(ssh_exclusion("10.0.0.1 51234 10.0.0.2 65536"));
  EXPECT_FALSE(ssh_exclusion("10.0.0.1 -1 10.0.0.2 22"));
  EXPECT_FALSE(ssh_exclusion("host 51234 10.0.0.2 22"));
  EXPECT_FALSE(ssh_exclusion("10.0.0.1) or (tcp 1 10.0.0.2 22"));
}

TEST(Capture, BadFilterQuotesIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "capture needs CAP_NET_RAW (run as root)";
  CaptureOptions o;
  o.interface = "lo";
  o.filter = "tcp port";
  CancelToken cancel;
  auto r = capture(o, cancel, [](const json&) {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kBadArgs);
  EXPECT_NE(r.error().message.find("bad capture filter `tcp port`"), std::string::npos)
      << r.error().message;
}

TEST(Capture, StopsOnDurationWithHeaderStreamed) {
  if (::geteuid() != 0) GTEST_SKIP() << "capture needs CAP_NET_RAW (run as root)";
  CaptureOptions o;
  o.interface = "lo";
  // A port nothing uses: the summary is empty whatever else runs on lo.
  o.filter = "udp port 9";
  o.duration_ms = 200;
  o.ssh_connection = "127.0.0.1 40000 127.0.0.1 22";
  CancelToken cancel;
  std::vector<std::string> phases;
  size_t data_bytes = 0;
  auto r = capture(o, cancel, [&](const json& e) {
    phases.push_back(e["phase"].get<std::string>());
    if (e["phase"] == "data") data_bytes += e["data"].get_binary().size();
  });
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_FALSE(phases.empty());
  EXPECT_EQ(phases.front(), "started");
  EXPECT_EQ(data_bytes, 24u);  // the pcap global header alone
  EXPECT_EQ(r->stopped_by, "duration");
  EXPECT_EQ(r->file_bytes, 24u);
  EXPECT_EQ(r->stats.captured, 0u);
  EXPECT_EQ(r->effective_filter,
            "(udp port 9) and not (host 127.0.0.1 and port 40000 and host 127.0.0.1 and port 22)");
  ASSERT_TRUE(r->excluded);
  EXPECT_EQ(r->excluded->server, "127.0.0.1:22");
  EXPECT_NE(r->summary.find(": 0 packets captured in 0."), std::string::npos) << r->summary;
}
