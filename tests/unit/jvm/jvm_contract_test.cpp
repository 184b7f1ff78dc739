// The jvm.* ops' args: round trips, validate(), malformed peer args.
#include <gtest/gtest.h>

#include "sonde/jvm/jvm_contract.h"
#include "support/contains.h"
#include "support/wire.h"

namespace sonde::jvm {
namespace {

using sonde::testing::contains;
using sonde::testing::over_the_wire;

TEST(JvmContract, ListArgs) {
  EXPECT_FALSE(to_json(JvmListArgs{}).contains("pid"));
  auto back = jvm_list_args_from_json(over_the_wire(to_json(JvmListArgs{42})));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, 42);
  EXPECT_TRUE(validate(JvmListArgs{}));
  EXPECT_FALSE(validate(JvmListArgs{-1}));
  EXPECT_EQ(jvm_list_args_from_json({{"pid", "1"}}).error().message,
            "bad `jvm.list` arguments: pid: expected an integer, got string");
}

TEST(JvmContract, AttachArgs) {
  JvmAttachArgs a{7, "threads", true, 5000};
  auto back = jvm_attach_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, 7);
  EXPECT_EQ(back->what, "threads");
  EXPECT_TRUE(back->all);
  EXPECT_EQ(back->timeout_ms, 5000);
  EXPECT_TRUE(validate(a));
  a.what = "heapdump";
  auto what = validate(a);
  ASSERT_FALSE(what);
  EXPECT_EQ(what.error().code, errc::kBadArgs);
  EXPECT_TRUE(contains(what.error().message, "threads, flags, props or version"));
  a.what = "flags";
  a.timeout_ms = 50;
  EXPECT_TRUE(contains(validate(a).error().message, "--attach-timeout"));
  a.timeout_ms = 5000;
  a.pid = 0;
  EXPECT_TRUE(contains(validate(a).error().hint, "sonde jvm list"));
  EXPECT_TRUE(contains(jvm_attach_args_from_json({{"all", 1}}).error().message, "all"));
}

TEST(JvmContract, JfrArgs) {
  JfrArgs a{9, 30000, "default", 10000};
  auto back = jfr_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->duration_ms, 30000);
  EXPECT_EQ(back->settings, "default");
  EXPECT_TRUE(validate(a));
  a.duration_ms = 10;
  EXPECT_TRUE(contains(validate(a).error().message, "--duration must be 1s..24h"));
  a.duration_ms = 30000;
  a.settings = "everything";
  EXPECT_TRUE(contains(validate(a).error().message, "--settings"));
  EXPECT_TRUE(
      contains(jfr_args_from_json({{"duration_ms", 1ULL << 63}}).error().message, "out of range"));
}

TEST(JvmContract, JmxArgs) {
  JmxArgs a{11, false, 9010, "127.0.0.2", 10000, true};
  auto back = jmx_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->port, 9010);
  EXPECT_EQ(back->bind, "127.0.0.2");
  EXPECT_TRUE(back->keep);
  EXPECT_FALSE(back->stop);
  EXPECT_TRUE(validate(a));
  a.bind = "0.0.0.0";
  EXPECT_TRUE(contains(validate(a).error().message, "loopback"));
  a.bind = "127.0.0.1";
  a.port = 0;
  EXPECT_TRUE(contains(validate(a).error().message, "port"));
  // The stop form needs only the pid.
  JmxArgs stop{11, true, 0, "", 0, false};
  json sj = to_json(stop);
  EXPECT_EQ(sj.size(), 2u);
  EXPECT_TRUE(validate(*jmx_args_from_json(sj)));
  EXPECT_TRUE(contains(jmx_args_from_json({{"bind", 127}}).error().message, "bind"));
}

}  // namespace
}  // namespace sonde::jvm
