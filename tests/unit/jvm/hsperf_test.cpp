// hsperfdata parsing on a file an OpenJDK 17 JVM (G1) wrote, started as
//   java -Xms64m -Xmx256m -agentlib:jdwp=...,address=127.0.0.1:55005 -cp /tmp/jx JvmTarget 900
// and on every truncation and a few corruptions of it (no crash, no
// out-of-bounds read: the ASan build checks the latter).
#include <gtest/gtest.h>

#include "data.h"
#include "sonde/jvm/hsperf.h"

namespace sonde::jvm {
namespace {

using testing::data_file;

TEST(Hsperf, RealFile) {
  std::string raw = data_file("hsperfdata_jdk17_g1.bin");
  ASSERT_EQ(raw.size(), 32768u);
  auto d = parse_hsperfdata(raw);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_GT(d->size(), 100u);
  EXPECT_EQ(perf_string(*d, "java.property.java.version"), "17.0.15");
  EXPECT_EQ(perf_string(*d, "java.property.java.vm.name"), "OpenJDK 64-Bit Server VM");
  EXPECT_EQ(perf_string(*d, "sun.rt.javaCommand"), "JvmTarget 900");
  auto args = perf_string(*d, "java.rt.vmArgs");
  ASSERT_TRUE(args);
  EXPECT_NE(args->find("-Xmx256m"), std::string::npos);
  EXPECT_NE(args->find("-agentlib:jdwp="), std::string::npos);
  // G1 with -Xmx256m: the generations' maximum capacities add up to the heap limit.
  auto young = perf_number(*d, "sun.gc.generation.0.maxCapacity");
  auto old = perf_number(*d, "sun.gc.generation.1.maxCapacity");
  ASSERT_TRUE(young && old);
  // (G1 reports a few bytes over the -Xmx it was given.)
  EXPECT_GE(*old, 256ll << 20);
  EXPECT_LT(*old, 257ll << 20);
  auto begin = perf_number(*d, "sun.rt.createVmBeginTime");
  ASSERT_TRUE(begin);
  EXPECT_GT(*begin, 1600000000000ll);                           // epoch milliseconds
  EXPECT_FALSE(perf_number(*d, "java.property.java.version"));  // a string, not a number
  EXPECT_FALSE(perf_string(*d, "no.such.counter"));
}

TEST(Hsperf, EveryTruncationIsSafe) {
  std::string raw = data_file("hsperfdata_jdk17_g1.bin");
  ASSERT_FALSE(raw.empty());
  size_t best = 0;
  for (size_t n = 0; n < raw.size(); n += (n < 256 ? 1 : 97)) {
    auto d = parse_hsperfdata(std::string_view(raw).substr(0, n));
    if (d) best = std::max(best, d->size());
  }
  EXPECT_GT(best, 10u);  // long prefixes still give the entries before the cut
}

TEST(Hsperf, CorruptionsAreSafe) {
  std::string raw = data_file("hsperfdata_jdk17_g1.bin");
  ASSERT_FALSE(raw.empty());
  EXPECT_FALSE(parse_hsperfdata("not hsperfdata at all, but 32 bytes long..").ok());
  std::string bad_magic = raw;
  bad_magic[0] = 0;
  EXPECT_FALSE(parse_hsperfdata(bad_magic).ok());
  // Scribble over entry headers: lengths and offsets pointing anywhere.
  for (size_t at = 32; at < 2048; at += 13) {
    std::string c = raw;
    for (size_t i = 0; i < 8; ++i) c[at + i] = static_cast<char>(0xff - i);
    (void)parse_hsperfdata(c);
  }
  std::string huge_count = raw;
  for (size_t i = 28; i < 32; ++i) huge_count[i] = static_cast<char>(0x7f);
  EXPECT_TRUE(parse_hsperfdata(huge_count).ok());
}

}  // namespace
}  // namespace sonde::jvm
