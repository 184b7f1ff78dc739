// /proc/PID/environ: the variable parser, and the ancestor walk on a real
// chain of processes where only the parent holds the variable.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"
#include "sonde/proc/environ.h"

using namespace sonde;
using namespace sonde::proc;

TEST(Environ, ValueByExactName) {
  using namespace std::string_literals;
  const std::string env =
      "PATH=/bin\0SSH_CONNECTION_X=no\0SSH_CONNECTION=1.2.3.4 5 6.7.8.9 22\0"s
      "EMPTY=\0"s;
  EXPECT_EQ(environ_value(env, "SSH_CONNECTION"), "1.2.3.4 5 6.7.8.9 22");
  EXPECT_EQ(environ_value(env, "PATH"), "/bin");
  EXPECT_EQ(environ_value(env, "EMPTY"), "");
  EXPECT_EQ(environ_value(env, "SSH"), std::nullopt);
  EXPECT_EQ(environ_value(env, "MISSING"), std::nullopt);
  EXPECT_EQ(environ_value("", "PATH"), std::nullopt);
  // A value holding '=' keeps it; a truncated last entry without NUL still counts.
  EXPECT_EQ(environ_value("A=b=c\0B=tail"s, "A"), "b=c");
  EXPECT_EQ(environ_value("A=b=c\0B=tail"s, "B"), "tail");
}

TEST(Environ, NearestAncestorWithTheVariable) {
  // env -i starts the outer shell with only our variable; the inner shell is
  // started without it, prints its pid, and becomes `sleep`.
  SpawnOptions o;
  o.pipe_stdin = false;
  o.new_process_group = true;
  auto c = spawn({"env", "-i", "SONDE_ENVIRON_TEST=outer", "/bin/sh", "-c",
                  "env -u SONDE_ENVIRON_TEST /bin/sh -c 'echo $$; exec sleep 30'; :"},
                 o);
  ASSERT_TRUE(c.ok()) << c.error().describe();
  std::string line;
  char ch;
  while (line.find('\n') == std::string::npos) {
    auto r = wait_readable(c->out().get(), 5000);
    if (!r || !*r) break;
    auto n = read_some(c->out().get(), &ch, 1);
    if (!n || *n == 0) break;
    line += ch;
  }
  const pid_t inner = static_cast<pid_t>(std::atoi(line.c_str()));
  ASSERT_GT(inner, 0) << "no pid line: " << line;

  auto own = read_file("/proc/" + std::to_string(inner) + "/environ");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(environ_value(*own, "SONDE_ENVIRON_TEST"), std::nullopt);
  EXPECT_EQ(ancestor_environ_value(inner, "SONDE_ENVIRON_TEST", 1), std::nullopt);
  EXPECT_EQ(ancestor_environ_value(inner, "SONDE_ENVIRON_TEST", 2), "outer");
  EXPECT_EQ(ancestor_environ_value(inner, "SONDE_ENVIRON_NOWHERE", 6), std::nullopt);
  ::kill(-c->pid(), SIGKILL);
}
