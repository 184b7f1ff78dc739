// Parsers for hostile or odd /proc text: never a crash, an error instead.
#include <gtest/gtest.h>

#include "sonde/proc/fds.h"
#include "sonde/proc/limits.h"
#include "sonde/proc/maps.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/text.h"
#include "sonde/proc/users.h"

using namespace sonde::proc;

namespace {

// A real stat line of a sleeping bash (kernel 6.1), fields after comm intact.
const std::string kTail =
    " S 1000 1234 1234 34816 1234 4194560 1500 2000 3 4 250 75 0 0 20 0 3 0 987654 12345678 800 "
    "18446744073709551615 1 1 0 0 0 0 65536 3686404 1266761467 0 0 0 17 1 0 0 0 0 0";

}  // namespace

TEST(StatParse, PlainLine) {
  auto s = parse_stat("4242 (bash)" + kTail);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->pid, 4242);
  EXPECT_EQ(s->comm, "bash");
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->ppid, 1000);
  EXPECT_EQ(s->utime, 250u);
  EXPECT_EQ(s->stime, 75u);
  EXPECT_EQ(s->num_threads, 3);
  EXPECT_EQ(s->starttime, 987654u);
  EXPECT_EQ(s->vsize, 12345678u);
  EXPECT_EQ(s->rss_pages, 800);
  EXPECT_EQ(s->flags, 4194560u);
}

TEST(StatParse, CommWithSpacesAndParens) {
  auto s = parse_stat("77 (a) b (c)" + kTail);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->comm, "a) b (c");
  EXPECT_EQ(s->ppid, 1000);
  EXPECT_EQ(s->num_threads, 3);

  auto t = parse_stat("78 ()))" + kTail);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->comm, "))");

  auto e = parse_stat("79 ()" + kTail);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->comm, "");
}

TEST(StatParse, TruncatedLinesAreErrors) {
  std::string full = "4242 (bash)" + kTail;
  // Every prefix that ends before rss (field 24) must be an error, none may crash.
  size_t rss_start = full.find(" 800 ") + 1;
  size_t rss_end = rss_start + 3;
  for (size_t n = 0; n <= rss_start; ++n) {
    auto s = parse_stat(std::string_view(full).substr(0, n));
    EXPECT_FALSE(s.ok()) << "prefix of " << n << " bytes parsed";
  }
  EXPECT_TRUE(parse_stat(std::string_view(full).substr(0, rss_end)).ok());
}

TEST(StatParse, GarbageIsAnError) {
  for (const std::string& bad : std::vector<std::string>{
           "", "garbage", "(", ")", ") (", "12 (x", "x (y) S 1 2 3", "-5 (neg)" + kTail,
           "99999999999999999999 (big)" + kTail, "12 (x) SS" + kTail.substr(2),
           "12 (x) S notanumber" + kTail.substr(7), std::string("12 (\0x) ", 8) + "\xff\xfe"}) {
    auto s = parse_stat(bad);
    EXPECT_FALSE(s.ok()) << "parsed: " << bad;
    if (!s.ok()) {
      EXPECT_FALSE(s.error().message.empty());
    }
  }
  // Random bytes: only "does not crash" is asserted.
  std::string junk;
  unsigned x = 12345;
  for (int i = 0; i < 2000; ++i) {
    x = x * 1103515245 + 12345;
    junk += static_cast<char>((x >> 16) & 0xff);
    (void)parse_stat(junk);
  }
}

TEST(StatParse, StatusIds) {
  auto s =
      parse_status("Name:\tfoo bar\nTgid:\t42\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t6\t7\t8\n");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "foo bar");
  EXPECT_EQ(s->tgid, 42);
  EXPECT_EQ(s->uid[0], 1000);
  EXPECT_EQ(s->uid[1], 1001);
  EXPECT_EQ(s->uid[3], 1003);
  EXPECT_EQ(s->gid[2], 7);
  EXPECT_FALSE(parse_status("nothing useful here").ok());
  EXPECT_FALSE(parse_status("").ok());
  auto partial = parse_status("Uid:\t12\n");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->uid[0], 12);
  EXPECT_EQ(partial->uid[1], -1);
}

TEST(StatParse, StatusNamespacesSignalsAndSeccomp) {
  auto s = parse_status(
      "Name:\tjava\nUid:\t0\t0\t0\t0\nNSpid:\t31337\t7\t1\nSigBlk:\t0000000000010000\n"
      "SigCgt:\t2000000181005ccf\nSeccomp:\t2\n");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->nspid, (std::vector<long long>{31337, 7, 1}));
  EXPECT_EQ(s->sig_blocked, 0x10000u);
  EXPECT_EQ(s->sig_caught, 0x2000000181005ccfull);
  EXPECT_EQ(s->seccomp, 2);
  // Absent lines (older kernels have no NSpid or Seccomp) keep the defaults;
  // garbage in them is ignored, not trusted.
  auto old = parse_status("Name:\tx\nSigCgt:\tzzzz\nSeccomp:\tmany\n");
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->nspid.empty());
  EXPECT_EQ(old->sig_caught, 0u);
  EXPECT_EQ(old->seccomp, -1);
}

TEST(MapsParse, ModulesDeletedFilesAndGarbage) {
  auto maps = parse_maps(
      "55d0c0000000-55d0c0001000 r-xp 00001000 08:01 1234 /usr/bin/my prog\n"
      "7f0000000000-7f0000001000 r--p 00000000 08:01 99 /tmp/libx.so (deleted)\n"
      "7ffd00000000-7ffd00002000 rw-p 00000000 00:00 0 [stack]\n"
      "7f0000003000-7f0000002000 r--p 00000000 08:01 1 /backwards\n"
      "not a maps line\n"
      "\n");
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[0].start, 0x55d0c0000000u);
  EXPECT_EQ(maps[0].offset, 0x1000u);
  EXPECT_TRUE(maps[0].exec);
  EXPECT_EQ(maps[0].path, "/usr/bin/my prog");
  EXPECT_TRUE(maps[1].deleted);
  EXPECT_EQ(maps[1].path, "/tmp/libx.so");
  EXPECT_EQ(maps[1].inode, 99u);
  EXPECT_EQ(maps[2].path, "[stack]");
  EXPECT_FALSE(maps[2].exec);
  EXPECT_TRUE(parse_maps("").empty());
}

TEST(FdParse, SocketInode) {
  EXPECT_EQ(socket_inode("socket:[123456]"), 123456u);
  EXPECT_FALSE(socket_inode("pipe:[5]"));
  EXPECT_FALSE(socket_inode("socket:[12"));
  EXPECT_FALSE(socket_inode("socket:[x]"));
  EXPECT_FALSE(socket_inode("/tmp/socket:[1]"));
}

TEST(StatParse, StateNames) {
  EXPECT_STREQ(state_name('S'), "sleeping");
  EXPECT_STREQ(state_name('R'), "running");
  EXPECT_STREQ(state_name('Z'), "zombie");
  EXPECT_STREQ(state_name('D'), "disk sleep");
  EXPECT_STREQ(state_name('?'), "unknown");
}

TEST(LimitsParse, KernelFormat) {
  const char* text =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max cpu time              unlimited            unlimited            seconds   \n"
      "Max open files            1024                 524288               files     \n"
      "Max nice priority         0                    0                    \n"
      "Max realtime timeout      unlimited            unlimited            us        \n";
  auto l = parse_limits(text);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 4u);
  EXPECT_EQ((*l)[1].name, "Max open files");
  EXPECT_EQ((*l)[1].soft, "1024");
  EXPECT_EQ((*l)[1].hard, "524288");
  EXPECT_EQ((*l)[1].units, "files");
  EXPECT_EQ((*l)[2].units, "");
  EXPECT_FALSE(parse_limits("").ok());
  EXPECT_FALSE(parse_limits("garbage\nmore").ok());
}

TEST(Users, PasswdAndGroupText) {
  auto db = UserDb::parse(
      "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken "
      "line\nalice:x:1000:1000::/home/alice:/bin/sh\n"
      "dup:x:1000:1000::/:/bin/sh\nneg:x:-3:0::/:/bin/sh\n",
      "root:x:0:\nstaff:x:50:alice\n");
  EXPECT_EQ(db.user_name(0), "root");
  EXPECT_EQ(db.user_name(1000), "alice");
  EXPECT_EQ(db.user_name(4242), "4242");
  EXPECT_EQ(db.group_name(50), "staff");
  EXPECT_EQ(db.group_name(51), "51");
  EXPECT_EQ(db.resolve_user("alice"), 1000);
  EXPECT_EQ(db.resolve_user("77"), 77);
  EXPECT_FALSE(db.resolve_user("nobody-here").has_value());
  EXPECT_FALSE(db.resolve_user("-1").has_value());
  auto empty = UserDb::parse("", "");
  EXPECT_EQ(empty.user_name(0), "0");
}

TEST(Text, Utf8SafeAndPrintable) {
  EXPECT_EQ(utf8_safe("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(utf8_safe("a\xff"
                      "b"),
            "a?b");
  EXPECT_EQ(utf8_safe("\xc3"), "?");
  EXPECT_EQ(utf8_safe("\xed\xa0\x80"), "???");  // surrogate
  EXPECT_EQ(printable("a\x1b[31mb"), "a?[31mb");
  EXPECT_EQ(to_ll("12x"), std::nullopt);
  EXPECT_EQ(to_ll(""), std::nullopt);
  EXPECT_EQ(to_ull("ff", 16), 255u);
  EXPECT_EQ(field_kb("VmRSS:\t  1234 kB\n", "VmRSS"), 1234u);
  EXPECT_EQ(field_kb("VmRSSx:\t1 kB\n", "VmRSS"), std::nullopt);
}
