// Readers of the JDK's `jfr` tool output (captured from jfr 17 on a
// recording of JvmTarget) and the jvm list table.
#include <gtest/gtest.h>

#include "data.h"
#include "sonde/render/jvm.h"

namespace sonde::render {
namespace {

TEST(JfrSummary, RealOutput) {
  auto rows = parse_jfr_summary(sonde::jvm::testing::data_file("jfr_summary_jdk17.txt"));
  ASSERT_GT(rows.size(), 20u);
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_GE(rows[i - 1].second, rows[i].second);
  bool samples = false;
  for (const auto& [name, count] : rows) {
    EXPECT_EQ(name.rfind("jdk.", 0), 0u) << name;
    if (name == "jdk.ExecutionSample") samples = count > 0;
  }
  EXPECT_TRUE(samples);
  EXPECT_TRUE(parse_jfr_summary("no table here\n").empty());
}

TEST(JfrSamples, HottestIsTheHotLoop) {
  auto hot = hottest_methods(sonde::jvm::testing::data_file("jfr_execution_samples_jdk17.txt"), 5);
  ASSERT_FALSE(hot.empty());
  EXPECT_EQ(hot[0].first, "JvmTarget.hotLoop(long)");
  EXPECT_GT(hot[0].second, 0);
}

TEST(JvmList, Table) {
  json r = {
      {"jvms",
       {{{"pid", 4242},
         {"nspid", 1},
         {"user", "app"},
         {"java_version", "17.0.15"},
         {"uptime_s", 3725.0},
         {"heap", {{"max", "256m"}, {"used_bytes", 10485760}}},
         {"jdwp", {{"address", "*:5005"}, {"server", true}, {"listening", true}, {"port", 5005}}},
         {"jmx", {{"enabled", true}, {"port", 9010}, {"rmi_port", 9011}}},
         {"container", {{"in_container", true}}},
         {"attach_socket", false},
         {"main", "/opt/app.jar"},
         {"main_kind", "jar"}}}},
      {"notes", {"pid 7: maps not readable"}}};
  std::string t = render_jvm_list(r);
  EXPECT_NE(t.find("4242 (1)"), std::string::npos) << t;
  EXPECT_NE(t.find("1h02m"), std::string::npos) << t;
  EXPECT_NE(t.find("*:5005 listening"), std::string::npos) << t;
  EXPECT_NE(t.find("9010/9011"), std::string::npos) << t;
  EXPECT_NE(t.find("-jar /opt/app.jar"), std::string::npos) << t;
  EXPECT_NE(t.find("max 256m, 10M used"), std::string::npos) << t;
  EXPECT_NE(t.find("note: pid 7"), std::string::npos) << t;
  EXPECT_EQ(render_jvm_list({{"jvms", json::array()}}), "no JVMs found\n");
}

TEST(Uptime, Format) {
  EXPECT_EQ(format_uptime(5), "5s");
  EXPECT_EQ(format_uptime(125), "2m05s");
  EXPECT_EQ(format_uptime(90000), "1d01h");
}

}  // namespace
}  // namespace sonde::render
