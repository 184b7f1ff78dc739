// The attach request encoding and reply parsing, on replies an OpenJDK 17
// JVM sent (captured into data/).
#include <gtest/gtest.h>

#include "data.h"
#include "sonde/jvm/attach.h"

namespace sonde::jvm {
namespace {

using testing::data_file;

TEST(AttachRequest, VersionCommandAndExactlyThreeArgs) {
  auto r = encode_attach_request("jcmd", {"Thread.print -l"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, std::string("1\0jcmd\0Thread.print -l\0\0\0", 25));
  auto load = encode_attach_request("load", {"instrument", "false", "/tmp/a.jar=127.0.0.1"});
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(*load, std::string("1\0load\0instrument\0false\0/tmp/a.jar=127.0.0.1\0", 45));
}

TEST(AttachRequest, RefusesFourArgsAndEmbeddedNul) {
  EXPECT_FALSE(encode_attach_request("jcmd", {"a", "b", "c", "d"}).ok());
  EXPECT_FALSE(encode_attach_request("jcmd", {std::string("a\0b", 3)}).ok());
  EXPECT_FALSE(encode_attach_request("", {}).ok());
}

TEST(AttachReply, ThreadDump) {
  auto r = parse_attach_reply(data_file("reply_thread_print.bin"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 0);
  EXPECT_NE(r->output.find("Full thread dump OpenJDK 64-Bit Server VM"), std::string::npos);
  EXPECT_NE(r->output.find("\"sonde-burner\""), std::string::npos);
  EXPECT_NE(r->output.find("\"sonde-waiter\""), std::string::npos);
}

TEST(AttachReply, UnknownCommandIsMinusOne) {
  auto r = parse_attach_reply(data_file("reply_unknown_command.bin"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, -1);
  EXPECT_EQ(r->output, "java.lang.IllegalArgumentException: Unknown diagnostic command\n");
}

TEST(AttachReply, LoadReturnCode) {
  auto r = parse_attach_reply(data_file("reply_load_failed.bin"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 0);
  EXPECT_EQ(parse_load_return_code(r->output), 100);  // the jar could not be opened
  EXPECT_EQ(parse_load_return_code("return code: 0\n"), 0);
  EXPECT_EQ(parse_load_return_code("0\n"), 0);  // before JDK 9
  EXPECT_EQ(parse_load_return_code("java.lang.Exception"), std::nullopt);
}

TEST(AttachReply, ManagementStatus) {
  auto r = parse_attach_reply(data_file("reply_management_status_disabled.bin"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 0);
  EXPECT_EQ(r->output, "Agent: disabled\n\n");
}

TEST(AttachReply, GarbageIsAnError) {
  EXPECT_FALSE(parse_attach_reply("").ok());
  EXPECT_FALSE(parse_attach_reply("\n").ok());
  EXPECT_FALSE(parse_attach_reply("HTTP/1.1 200 OK\r\n").ok());
  EXPECT_FALSE(parse_attach_reply("-\n").ok());
  EXPECT_FALSE(parse_attach_reply("99999999999999\n").ok());
  auto bare = parse_attach_reply("0");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->output, "");
}

TEST(AttachPaths, ThroughTheJvmsRoot) {
  EXPECT_EQ(attach_socket_path(4242, 7), "/proc/4242/root/tmp/.java_pid7");
}

}  // namespace
}  // namespace sonde::jvm
