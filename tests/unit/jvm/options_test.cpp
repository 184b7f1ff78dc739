// Command-line parsing on real java command lines (the first as
// /proc/PID/cmdline showed it for the JVM in data/), and the JDWP and JMX
// flags in their documented spellings.
#include <gtest/gtest.h>

#include <sstream>

#include "data.h"
#include "sonde/jvm/options.h"

namespace sonde::jvm {
namespace {

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> v;
  for (std::string w; in >> w;) v.push_back(w);
  return v;
}

TEST(JavaCommandLine, RealJdwpLine) {
  auto o = parse_java_command_line(words(testing::data_file("cmdline_jdwp.txt")));
  EXPECT_EQ(o.main, "JvmTarget");
  EXPECT_EQ(o.main_kind, "class");
  EXPECT_EQ(o.app_args, std::vector<std::string>{"900"});
  EXPECT_EQ(o.xmx, "256m");
  EXPECT_EQ(o.max_heap_bytes, 256ull << 20);
  EXPECT_EQ(o.initial_heap_bytes, 64ull << 20);
  ASSERT_TRUE(o.jdwp);
  EXPECT_EQ(o.jdwp->transport, "dt_socket");
  EXPECT_TRUE(o.jdwp->server);
  EXPECT_FALSE(o.jdwp->suspend);
  EXPECT_EQ(o.jdwp->host, "127.0.0.1");
  EXPECT_EQ(o.jdwp->port, 55005);
  EXPECT_FALSE(o.attach_disabled);
}

TEST(JavaCommandLine, JarWithJmxAndAppArgsThatLookLikeOptions) {
  auto o = parse_java_command_line(
      {"/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "-Dcom.sun.management.jmxremote.port=9010",
       "-Dcom.sun.management.jmxremote.rmi.port=9011",
       "-Dcom.sun.management.jmxremote.authenticate=false",
       "-Dcom.sun.management.jmxremote.ssl=false", "-XX:MaxHeapSize=2g", "-jar",
       "/opt/app/service.jar", "--server.port=8080", "-Xmx1m", "-XX:+DisableAttachMechanism"});
  EXPECT_EQ(o.main_kind, "jar");
  EXPECT_EQ(o.main, "/opt/app/service.jar");
  EXPECT_EQ(o.app_args.size(), 3u);
  EXPECT_EQ(o.xmx, "2g");  // the app's own "-Xmx1m" is not a JVM option
  EXPECT_EQ(o.max_heap_bytes, 2ull << 30);
  EXPECT_FALSE(o.attach_disabled);
  EXPECT_TRUE(o.jmx.enabled);
  EXPECT_EQ(o.jmx.port, 9010);
  EXPECT_EQ(o.jmx.rmi_port, 9011);
  EXPECT_EQ(o.jmx.authenticate, false);
  EXPECT_EQ(o.jmx.ssl, false);
  EXPECT_FALSE(o.jdwp);
}

TEST(JavaCommandLine, ClasspathValueIsNotTheMainClass) {
  auto o = parse_java_command_line(
      {"java", "-cp", "/a:/b", "-Xrs", "-XX:+DisableAttachMechanism", "com.example.Main", "x"});
  EXPECT_EQ(o.main, "com.example.Main");
  EXPECT_TRUE(o.reduce_signals);
  EXPECT_TRUE(o.attach_disabled);
  auto m = parse_java_command_line({"java", "--module-path", "mods", "-m", "app/app.Main"});
  EXPECT_EQ(m.main, "app/app.Main");
  EXPECT_EQ(m.main_kind, "module");
  auto src = parse_java_command_line({"java", "Hello.java"});
  EXPECT_EQ(src.main_kind, "source");
  auto none = parse_java_command_line({"java", "-version"});
  EXPECT_EQ(none.main, "");
}

TEST(Jdwp, AddressSpellings) {
  auto a = parse_jdwp_options("transport=dt_socket,server=y,suspend=n,address=*:5005");
  EXPECT_EQ(a.host, "*");
  EXPECT_EQ(a.port, 5005);
  auto b = parse_jdwp_options("transport=dt_socket,server=y,address=8000");
  EXPECT_EQ(b.host, "");
  EXPECT_EQ(b.port, 8000);
  EXPECT_TRUE(b.suspend);  // JDWP's default
  auto c = parse_jdwp_options("transport=dt_socket,server=y,address=[::1]:5005");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 5005);
  auto d = parse_jdwp_options("transport=dt_socket,server=n,address=debughost:5005");
  EXPECT_FALSE(d.server);
  EXPECT_EQ(d.host, "debughost");
  auto e = parse_jdwp_options("transport=dt_socket,server=y");
  EXPECT_EQ(e.port, 0);
  auto f = parse_jdwp_options("transport=dt_socket,address=99999");
  EXPECT_EQ(f.port, 0);
  JvmOptions old;
  apply_jvm_option(old, "-Xrunjdwp:transport=dt_socket,server=y,suspend=n,address=4000");
  ASSERT_TRUE(old.jdwp);
  EXPECT_EQ(old.jdwp->port, 4000);
  JvmOptions path;
  apply_jvm_option(path,
                   "-agentpath:/usr/lib/jvm/x/lib/libjdwp.so=transport=dt_socket,server=y,"
                   "address=4001");
  ASSERT_TRUE(path.jdwp);
  EXPECT_EQ(path.jdwp->port, 4001);
}

TEST(JvmOptionString, ToolOptionsLaterWins) {
  JvmOptions o;
  apply_jvm_option_string(o, "  -Xmx1g -XX:+DisableAttachMechanism\t-Xmx512m ");
  EXPECT_EQ(o.xmx, "512m");
  EXPECT_TRUE(o.attach_disabled);
}

TEST(JavaSize, Units) {
  EXPECT_EQ(parse_java_size("1024"), 1024u);
  EXPECT_EQ(parse_java_size("64k"), 64u << 10);
  EXPECT_EQ(parse_java_size("3G"), 3ull << 30);
  EXPECT_FALSE(parse_java_size("1.5g"));
  EXPECT_FALSE(parse_java_size("g"));
  EXPECT_FALSE(parse_java_size(""));
  EXPECT_FALSE(parse_java_size("99999999999999999999999"));
}

}  // namespace
}  // namespace sonde::jvm
