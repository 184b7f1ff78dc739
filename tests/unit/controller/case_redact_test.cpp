// Redaction of the forms people type passwords in: client options (mysql
// -pX, redis-cli -a X, curl -u user:X), URL queries and URL passwords with
// '/', targets as typed, and lines of any length.
#include <gtest/gtest.h>

#include <string>

#include "case/redact.h"

namespace sonde::controller::casefile {
namespace {

// redact_text with the count checked.
std::string r(const std::string& s, int expect) {
  int n = 0;
  std::string out = redact_text(s, &n);
  EXPECT_EQ(n, expect) << s << " -> " << out;
  return out;
}

TEST(CaseRedactClients, MysqlAttachedPassword) {
  EXPECT_EQ(r("mysql -uroot -phunter2 shop", 1), "mysql -uroot -p*** shop");
  EXPECT_EQ(r("/usr/bin/mysqldump -h db -pS3cr/t! shop > x.sql", 1),
            "/usr/bin/mysqldump -h db -p*** shop > x.sql");
  EXPECT_EQ(r("mariadb --password=hunter2 -e 'select 1'", 1),
            "mariadb --password=*** -e 'select 1'");
  // A bare -p prompts: nothing to mask. Another command's -p is a port or pid.
  EXPECT_EQ(r("mysql -u root -p shop", 0), "mysql -u root -p shop");
  EXPECT_EQ(r("mysql -e 'x'; ssh -p2222 host", 0), "mysql -e 'x'; ssh -p2222 host");
  int n = 0;
  json argv = redact_argv(
      json::array({"sonde", "trace", "local", "--", "mysql", "-uroot", "-phunter2", "shop"}), &n);
  EXPECT_EQ(argv[6], "-p***");
  EXPECT_EQ(argv[7], "shop");
  EXPECT_EQ(n, 1);
  // sonde's own -p PID is no password.
  n = 0;
  argv = redact_argv(json::array({"sonde", "stack", "local", "-p1234"}), &n);
  EXPECT_EQ(argv[3], "-p1234");
  EXPECT_EQ(n, 0);
}

TEST(CaseRedactClients, RedisCliAuth) {
  EXPECT_EQ(r("redis-cli -h cache -a hunter2 ping", 1), "redis-cli -h cache -a *** ping");
  EXPECT_EQ(r("valkey-cli --pass hunter2 info", 1), "valkey-cli --pass *** info");
  int n = 0;
  json argv = redact_argv(json::array({"redis-cli", "-a", "hunter2", "get", "k"}), &n);
  EXPECT_EQ(argv[2], "***");
  EXPECT_EQ(argv[3], "get");
  EXPECT_EQ(n, 1);
}

TEST(CaseRedactClients, CurlUserPassword) {
  EXPECT_EQ(r("curl -u bob:hunter2 https://api.example/x", 1),
            "curl -u bob:*** https://api.example/x");
  EXPECT_EQ(r("curl --user bob:hunter2 https://api.example/x", 1),
            "curl --user bob:*** https://api.example/x");
  EXPECT_EQ(r("curl --user=bob:pa:ss https://x", 1), "curl --user=bob:*** https://x");
  EXPECT_EQ(r("curl -ubob:hunter2 https://x", 1), "curl -ubob:*** https://x");
  EXPECT_EQ(r("curl -U proxy:pw https://x", 1), "curl -U proxy:*** https://x");
  // curl prompts for the password of a bare user.
  EXPECT_EQ(r("curl -u bob https://x", 0), "curl -u bob https://x");
  int n = 0;
  json argv = redact_argv(json::array({"curl", "-s", "--user", "bob:hunter2", "https://x"}), &n);
  EXPECT_EQ(argv[3], "bob:***");
  EXPECT_EQ(n, 1);
}

TEST(CaseRedactUrls, QuerySecrets) {
  EXPECT_EQ(r("GET /cb?code=1&token=abc&page=2", 1), "GET /cb?code=1&token=***&page=2");
  EXPECT_EQ(r("https://s3.example/o?X-Amz-Signature=deadbeef&x=1", 1),
            "https://s3.example/o?X-Amz-Signature=***&x=1");
  EXPECT_EQ(r("https://maps.example/api?key=AIza123&q=paris", 1),
            "https://maps.example/api?key=***&q=paris");
  EXPECT_EQ(r("/blob?sv=2020&sig=AbC%2Fd&se=1", 1), "/blob?sv=2020&sig=***&se=1");
  EXPECT_EQ(r("/login?user=bob&password=hunter2", 1), "/login?user=bob&password=***");
  EXPECT_EQ(r("/x?access_token=t1&api_key=k2", 2), "/x?access_token=***&api_key=***");
  // Names that hold no secret stay.
  EXPECT_EQ(r("/search?q=keyboards&page=2", 0), "/search?q=keyboards&page=2");
}

TEST(CaseRedactUrls, PasswordWithSlash) {
  EXPECT_EQ(r("postgres://app:pa/ss/word@db:5432/shop", 1), "postgres://app:***@db:5432/shop");
  EXPECT_EQ(r("https://bob:s3cret@example.com/x", 1), "https://bob:***@example.com/x");
  // host:port/path with an @ later is a port, not a password.
  EXPECT_EQ(r("http://localhost:8080/users/@me", 0), "http://localhost:8080/users/@me");
}

TEST(CaseRedactTargets, UserPasswordAndVia) {
  int n = 0;
  EXPECT_EQ(redact_target("admin:hunter2@web1", &n), "admin:***@web1");
  EXPECT_EQ(redact_target("ssh://admin:hunter2@web1:2222", &n), "ssh://admin:***@web1:2222");
  EXPECT_EQ(redact_target("kubectl exec -i web -- env TOKEN=abc sonde-agent serve", &n),
            "kubectl exec -i web -- env TOKEN=*** sonde-agent serve");
  EXPECT_EQ(n, 3);
  n = 0;
  EXPECT_EQ(redact_target("root@web1:22", &n), "root@web1:22");
  EXPECT_EQ(redact_target("local", &n), "local");
  EXPECT_EQ(n, 0);
  // In a command line too.
  json argv = redact_argv(json::array({"sonde", "ps", "admin:hunter2@web1"}), &n);
  EXPECT_EQ(argv[2], "admin:***@web1");
  EXPECT_EQ(n, 1);
}

TEST(CaseRedactLongLines, EverySecretOfAVeryLongLineIsMasked) {
  // Secrets before, across and after the 4096-character chunk boundaries.
  std::string line;
  for (int i = 0; i < 300; ++i) line += "word" + std::to_string(i) + " ";
  line += "password=first ";
  while (line.size() < 4090) line += "x";
  line += " token=second ";
  for (int i = 0; i < 2000; ++i) line += "y";  // one long token over a boundary
  line += " mysql -uroot -pthird db ";
  for (int i = 0; i < 2000; ++i) line += "z ";
  line += "https://u:fourth@h/ api_key=fifth";
  ASSERT_GT(line.size(), 8192u);
  std::string out = r(line, 5);
  for (const char* s : {"first", "second", "third", "fourth", "fifth"})
    EXPECT_EQ(out.find(s), std::string::npos) << s;
  EXPECT_NE(out.find("word299 password=***"), std::string::npos);
}

TEST(CaseRedactLongLines, ASecretLongerThanAChunkIsMaskedWhole) {
  std::string jwt(10000, 'a');
  std::string out = r("Authorization: Bearer " + jwt + " next", 1);
  EXPECT_EQ(out.find("aaaa"), std::string::npos) << out.substr(0, 200);
  EXPECT_EQ(out, "Authorization: Bearer *** next");
  out = r("token=" + jwt + "&page=2", 1);
  EXPECT_EQ(out, "token=***&page=2");
}

TEST(CaseRedact, RedactingTwiceCountsOnce) {
  int n = 0;
  std::string once = redact_text("mysql -pX; redis-cli -a Y; curl -u a:Z https://u:W@h/?sig=V", &n);
  EXPECT_EQ(n, 5) << once;
  int m = 0;
  EXPECT_EQ(redact_text(once, &m), once);
  EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace sonde::controller::casefile
