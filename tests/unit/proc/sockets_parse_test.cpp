// Socket table lines and fd decoding, from fixed kernel-formatted text.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "sonde/proc/fds.h"
#include "sonde/proc/sockets.h"

using namespace sonde::proc;

TEST(SocketParse, Ipv4Addresses) {
  EXPECT_EQ(decode_address("0100007F:1F90"), "127.0.0.1:8080");
  EXPECT_EQ(decode_address("00000000:0016"), "0.0.0.0:22");
  EXPECT_EQ(decode_address("0101A8C0:01BB"), "192.168.1.1:443");
  EXPECT_EQ(decode_address("0100007F"), std::nullopt);
  EXPECT_EQ(decode_address("0100007G:0016"), std::nullopt);
  EXPECT_EQ(decode_address("0100007F:10000"), std::nullopt);
  EXPECT_EQ(decode_address(":"), std::nullopt);
}

TEST(SocketParse, Ipv6Addresses) {
  EXPECT_EQ(decode_address("00000000000000000000000001000000:0016"), "[::1]:22");
  EXPECT_EQ(decode_address("00000000000000000000000000000000:0050"), "[::]:80");
  EXPECT_EQ(decode_address("0000000000000000FFFF00000100007F:1F90"), "[::ffff:127.0.0.1]:8080");
  EXPECT_EQ(decode_address("B80D0120000000000000000001000000:01BB"), "[2001:db8::1]:443");
  EXPECT_EQ(decode_address("000000000000000000000000010000:0016"), std::nullopt);
}

TEST(SocketParse, TcpLines) {
  auto l = parse_inet_line("tcp",
                           "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 "
                           "00000000     0        0 12345 1 "
                           "0000000000000000 100 0 0 10 0");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->proto, "tcp");
  EXPECT_EQ(l->local, "127.0.0.1:8080");
  EXPECT_EQ(l->peer, "");
  EXPECT_EQ(l->state, "LISTEN");
  EXPECT_EQ(l->inode, 12345u);
  EXPECT_EQ(l->to_json().count("peer"), 0u);

  auto e =
      parse_inet_line("tcp6",
                      "   1: 00000000000000000000000001000000:9C40 "
                      "00000000000000000000000001000000:1538 01 00000000:00000000 "
                      "00:00000000 00000000  1000        0 777 1 0000000000000000 20 4 30 10 -1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->local, "[::1]:40000");
  EXPECT_EQ(e->peer, "[::1]:5432");
  EXPECT_EQ(e->state, "ESTABLISHED");
  EXPECT_EQ(e->to_json()["peer"], "[::1]:5432");

  auto tw = parse_inet_line("tcp", "2: 0100007F:1F90 0100007F:C000 06 0:0 0:0 0 0 0 0");
  ASSERT_TRUE(tw.has_value());
  EXPECT_EQ(tw->state, "TIME_WAIT");
}

TEST(SocketParse, UdpUnconnectedIsUnconn) {
  auto u = parse_inet_line(
      "udp", "  5: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 99 2");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->state, "UNCONN");
  auto t = parse_inet_line(
      "tcp", "  5: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 99 2");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->state, "CLOSE");
}

TEST(SocketParse, HeadersAndGarbage) {
  EXPECT_FALSE(parse_inet_line("tcp",
                               "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
                               "retrnsmt   uid  timeout inode"));
  EXPECT_FALSE(parse_inet_line("tcp", ""));
  EXPECT_FALSE(parse_inet_line("tcp", "0: zz:zz 00000000:0000 0A 0 0 0 0 0 1"));
  EXPECT_FALSE(parse_inet_line("tcp", "0: 0100007F:1F90 00000000:0000 0A 0 0 0 0 0"));
  EXPECT_FALSE(parse_unix_line("Num       RefCount Protocol Flags    Type St Inode Path"));
  EXPECT_FALSE(parse_unix_line("garbage"));
  EXPECT_FALSE(parse_netlink_line(
      "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode"));
  EXPECT_STREQ(tcp_state_name(0x0A), "LISTEN");
  EXPECT_STREQ(tcp_state_name(200), "UNKNOWN");
}

TEST(SocketParse, UnixLines) {
  auto l = parse_unix_line(
      "0000000000000000: 00000002 00000000 00010000 0001 01 20001 /run/my app.sock");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->proto, "unix");
  EXPECT_EQ(l->state, "LISTEN");
  EXPECT_EQ(l->type, "stream");
  EXPECT_EQ(l->local, "/run/my app.sock");
  EXPECT_EQ(l->inode, 20001u);
  EXPECT_EQ(l->to_json()["path"], "/run/my app.sock");

  auto c = parse_unix_line("0000000000000000: 00000003 00000000 00000000 0001 03 20002");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->state, "ESTABLISHED");
  EXPECT_EQ(c->local, "");

  auto d = parse_unix_line("0000000000000000: 00000002 00000000 00000000 0002 01 20003 @abstract");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->type, "dgram");
  EXPECT_EQ(d->state, "UNCONN");
  EXPECT_EQ(d->local, "@abstract");
}

TEST(SocketParse, NetlinkLines) {
  auto n = parse_netlink_line(
      "0000000000000000 0   1234       00000000 0        0        0     2        0        30001");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->proto, "netlink");
  EXPECT_EQ(n->inode, 30001u);
}

TEST(FdDecode, OpenFlags) {
  EXPECT_EQ(decode_open_flags(O_RDONLY | O_CLOEXEC), "O_RDONLY|O_CLOEXEC");
  EXPECT_EQ(decode_open_flags(O_RDWR | O_NONBLOCK), "O_RDWR|O_NONBLOCK");
  EXPECT_EQ(decode_open_flags(O_WRONLY | O_APPEND), "O_WRONLY|O_APPEND");
  EXPECT_EQ(decode_open_flags(O_WRONLY | O_SYNC), "O_WRONLY|O_SYNC");
  EXPECT_EQ(decode_open_flags(O_WRONLY | O_DSYNC), "O_WRONLY|O_DSYNC");
  // 0100000 is O_LARGEFILE on x86-64 as the kernel reports it: left out.
  EXPECT_EQ(decode_open_flags(0100000), "O_RDONLY");
}

TEST(FdDecode, Kinds) {
  EXPECT_EQ(fd_kind("socket:[123]"), "socket");
  EXPECT_EQ(fd_kind("pipe:[5]"), "pipe");
  EXPECT_EQ(fd_kind("anon_inode:[eventfd]"), "anon");
  EXPECT_EQ(fd_kind("/dev/null"), "device");
  EXPECT_EQ(fd_kind("/etc/hosts"), "file");
  EXPECT_EQ(fd_kind("net:[4026531840]"), "other");
}

TEST(SocketParse, RandomBytesNeverCrash) {
  std::string junk;
  unsigned x = 777;
  for (int i = 0; i < 3000; ++i) {
    x = x * 1103515245 + 12345;
    // Mostly hex digits, colons and spaces so the parsers get deep.
    const char alphabet[] = "0123456789ABCDEF: \t\xff";
    junk += alphabet[(x >> 16) % (sizeof alphabet - 1)];
    (void)parse_inet_line("tcp6", junk);
    (void)parse_unix_line(junk);
    (void)parse_netlink_line(junk);
    (void)decode_address(junk.substr(junk.size() > 40 ? junk.size() - 40 : 0));
  }
}
