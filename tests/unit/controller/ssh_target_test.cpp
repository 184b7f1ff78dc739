#include "transport/ssh_target.h"

#include <gtest/gtest.h>

#include "transport/ssh_connection.h"

namespace sonde::controller {
namespace {

TEST(SshTarget, Forms) {
  auto a = parse_ssh_target("db1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "db1");
  EXPECT_EQ(a->user, "");
  EXPECT_EQ(a->port, 0);

  auto b = parse_ssh_target("alice@db1:2222");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->user, "alice");
  EXPECT_EQ(b->host, "db1");
  EXPECT_EQ(b->port, 2222);

  auto c = parse_ssh_target("ssh://bob@10.0.0.5:22/");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->user, "bob");
  EXPECT_EQ(c->host, "10.0.0.5");
  EXPECT_EQ(c->port, 22);

  auto d = parse_ssh_target("root@[::1]:2200");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->port, 2200);

  auto e = parse_ssh_target("fe80::1");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "fe80::1");
  EXPECT_EQ(e->port, 0);
}

TEST(SshTarget, BadFormsAreUsageErrorsWithAHint) {
  for (const char* bad :
       {"", "@host", "host:", "host:99999", "host:abc", "http://host", "[::1", "a b", "ssh://"}) {
    auto r = parse_ssh_target(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, errc::kBadArgs) << bad;
    EXPECT_FALSE(r.error().hint.empty());
  }
}

TEST(ShellQuote, QuotesSingleQuotes) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

}  // namespace
}  // namespace sonde::controller
