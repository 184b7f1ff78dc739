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

TEST(SshTarget, ShellMetacharactersInTheHostAreRefusedBeforeSsh) {
  // libssh would put the host into a ProxyCommand from ~/.ssh/config (%h)
  // and run that through a shell.
  for (const char* bad : {"a;touch /tmp/x",
                          "$(id)",
                          "`id`",
                          "h|nc",
                          "h&",
                          "h>f",
                          "h<f",
                          "'h'",
                          "\"h\"",
                          "h\\",
                          "h*",
                          "h?",
                          "h{a,b}",
                          "h(x)",
                          "h!",
                          "h~",
                          "h#",
                          "h%h",
                          "h=1",
                          "h,x",
                          "-oProxyCommand=x",
                          "root@$(reboot)",
                          "h\n",
                          "h\tx",
                          "[::1;id]:22",
                          "ssh://h;id:22/",
                          "b\xff\xfehost"}) {
    auto r = parse_ssh_target(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, errc::kBadArgs) << bad;
    EXPECT_NE(r.error().hint.find("ssh/config"), std::string::npos) << r.error().hint;
  }
  // The message shows odd bytes escaped, never raw.
  auto r = parse_ssh_target("b\xff\x1bhost");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("b\\xff\\x1bhost"), std::string::npos) << r.error().message;
}

TEST(SshTarget, ShellMetacharactersInTheUserAreRefused) {
  for (const char* bad :
       {"a;b@host", "$USER@host", "`id`@host", "a b@host", "-l@host", "u'x@host", "u|x@host"}) {
    auto r = parse_ssh_target(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, errc::kBadArgs) << bad;
    EXPECT_FALSE(r.error().hint.empty());
  }
}

TEST(SshTarget, OrdinaryNamesStillPass) {
  for (const char* good : {"db-1.example.com", "web_2", "10.1.2.3", "alice@db1", "a.b-c_d@h:22",
                           "ssh://svc@host.example:2222/", "[fe80::1%eth0]:22", "fe80::1%eth0",
                           "[2001:db8::1]", "admin@corp.example@jump1", "xn--bcher-kva.example"}) {
    auto r = parse_ssh_target(good);
    EXPECT_TRUE(r.ok()) << good << ": " << (r.ok() ? "" : r.error().message);
  }
  auto z = parse_ssh_target("[fe80::1%eth0]:2200");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->host, "fe80::1%eth0");
  EXPECT_EQ(z->port, 2200);
  auto d = parse_ssh_target("admin@corp.example@jump1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->user, "admin@corp.example");
  EXPECT_EQ(d->host, "jump1");
}

TEST(ShellQuote, QuotesSingleQuotes) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

}  // namespace
}  // namespace sonde::controller
